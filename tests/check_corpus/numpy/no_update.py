# %%linreg --stage numpy --epochs 100
# expect: not yet: no_training
# fix: in words
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    loss = (error ** 2).mean()
