# %%linreg --stage sequential --device cpu --features 3 --hidden 5 --epochs 100
# expect: not yet: shape
torch.manual_seed(42)
model = nn.Sequential(nn.Linear(1, 5), nn.Linear(5, 1)).to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
for epoch in range(n_epochs):
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
