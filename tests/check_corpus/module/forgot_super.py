# %%linreg --stage module --device cpu --epochs 100
# expect: not yet: no_super_init
class ManualLinearRegression(nn.Module):
    def __init__(self):
        self.b = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))
        self.w = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))

    def forward(self, x):
        return self.b + self.w * x

torch.manual_seed(42)
model = ManualLinearRegression().to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
