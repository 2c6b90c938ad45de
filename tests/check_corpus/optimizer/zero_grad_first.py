# %%linreg --stage optimizer --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    optimizer.zero_grad(set_to_none=True)
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    optimizer.step()
