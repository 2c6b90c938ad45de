# %%linreg --stage optimizer --device cpu --epochs 100
# expect: correct
sgd = optim.SGD(params=[b, w], lr=lr)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    sgd.step()
    sgd.zero_grad()
