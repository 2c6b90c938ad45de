# %%linreg --stage module --device cpu --epochs 100
# expect: not yet: optimizer_params
torch.manual_seed(42)
model = ManualLinearRegression().to(device)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
