# %%linreg --stage tensors --device cpu --epochs 100
# expect: note: graph_grows
# parameters that require grad, updated by hand: each epoch's b is computed from the last
torch.manual_seed(42)
b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
for epoch in range(n_epochs):
    yhat = b + w * x_train_tensor
    error = (yhat - y_train_tensor)
    loss = (error ** 2).mean()
    b_grad = 2 * error.mean()
    w_grad = 2 * (x_train_tensor * error).mean()
    b = b - lr * b_grad
    w = w - lr * w_grad
