# %%linreg --stage optimizer --device cpu --epochs 100
# expect: not yet: optimizer_settings
optimizer = optim.SGD([b, w], lr=lr, weight_decay=0.5)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
