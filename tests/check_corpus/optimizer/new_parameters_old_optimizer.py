# %%linreg --stage optimizer --device cpu --epochs 100
# expect: not yet: optimizer_params
torch.manual_seed(42)
b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
