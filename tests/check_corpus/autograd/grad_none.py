# %%linreg --stage autograd --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b.sub_(lr * b.grad)
        w.sub_(lr * w.grad)
    b.grad = None
    w.grad = None
