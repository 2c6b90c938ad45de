# %%linreg --stage nested --device cpu --epochs 100
# expect: correct
torch.manual_seed(42)
model = nn.Sequential(nn.Linear(1, 1)).to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
