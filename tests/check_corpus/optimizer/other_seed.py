# %%linreg --stage optimizer --device cpu --epochs 100
# expect: correct
torch.manual_seed(2024)
b = torch.randn(1, requires_grad=True, device=device)
w = torch.randn(1, requires_grad=True, device=device)
optimizer = optim.SGD([b, w], lr=lr)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
