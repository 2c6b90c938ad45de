# %%linreg --stage tensors --device cpu --epochs 100
# expect: correct
# the gradient of both parameters at once, with a column of ones
ones = torch.ones_like(x_train_tensor)
X = torch.cat([ones, x_train_tensor], dim=1)
for epoch in range(n_epochs):
    theta = torch.cat([b, w])
    error = X @ theta.view(2, 1) - y_train_tensor
    grad = 2 * (X * error).mean(dim=0)
    b = b - lr * grad[:1]
    w = w - lr * grad[1:]
