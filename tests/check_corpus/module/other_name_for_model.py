# %%linreg --stage module --device cpu --epochs 100
# expect: correct
torch.manual_seed(42)
net = ManualLinearRegression().to(device)
sgd = optim.SGD(net.parameters(), lr=lr)
criterion = nn.MSELoss()
for epoch in range(n_epochs):
    net.train()
    loss = criterion(net(x_train_tensor), y_train_tensor)
    loss.backward()
    sgd.step()
    sgd.zero_grad()
model = net
