# %%linreg --stage module --device cpu --epochs 100
# expect: correct
class Line(nn.Module):
    def __init__(self):
        super().__init__()
        self.intercept = nn.Parameter(torch.randn(1))
        self.slope = nn.Parameter(torch.randn(1))

    def forward(self, x):
        return self.intercept + self.slope * x

torch.manual_seed(42)
model = Line().to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
