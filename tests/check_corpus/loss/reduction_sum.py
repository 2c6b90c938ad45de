# %%linreg --stage loss --device cpu --epochs 100
# expect: not yet: loss_sum
loss_fn = nn.MSELoss(reduction='sum')
for epoch in range(n_epochs):
    loss = loss_fn(b + w * x_train_tensor, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
