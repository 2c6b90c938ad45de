"""The data a run trains on: the book's synthetic line, a real data set, or yours.

``synthetic`` is the book's: ``np.random.seed(42)``, ``x = rand(N, 1)``,
``epsilon = .1 * randn(N, 1)``, ``y = true_b + true_w * x + epsilon``, then a
shuffled split, first 80% for training.  A private ``RandomState`` draws the
same numbers as the book's global seed without touching the user's global numpy
state.  ``diabetes`` is scikit-learn's bundled diabetes set (no download), one
feature against disease progression.  ``user`` reads arrays, lists, Series or
DataFrame columns by name from a namespace (the notebook's), copying them.

``--scale standard`` standardizes the features with the training set's mean
and standard deviation; the dataset remembers both so that views can say what
the learned numbers mean in the original units.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .options import Options, split_sizes, usage_error
from .user_namespace import SHELL_NAMES, user_namespace

__all__ = ["DIABETES_FEATURES", "Dataset", "make_data"]

#: The columns of scikit-learn's diabetes set, in order.
DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")

@dataclass(frozen=True, repr=False)
class Dataset:
    """Features ``x`` (N, F) and targets ``y`` (N, 1), split into train and validation.

    ``x_mean`` and ``x_std`` are set when the features were standardized
    (``x = (raw - x_mean) / x_std``); ``true_b`` and ``true_w`` are then given
    for the standardized features too.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    true_b: float | None
    true_w: tuple[float, ...] | None
    feature_names: tuple[str, ...] = ("x",)
    target_name: str = "y"
    x_mean: np.ndarray | None = None
    x_std: np.ndarray | None = None
    source: str = "the book's synthetic data"

    @property
    def x_train(self) -> np.ndarray:
        return self.x[self.train_idx]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[self.train_idx]

    @property
    def x_val(self) -> np.ndarray:
        return self.x[self.val_idx]

    @property
    def y_val(self) -> np.ndarray:
        return self.y[self.val_idx]

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def scaled(self) -> bool:
        return self.x_std is not None

    def unscaled(self, intercept: float, coef: np.ndarray) -> tuple[float, np.ndarray]:
        """A line learned on the standardized features, in the original units."""
        coef = np.asarray(coef, dtype=np.float64)
        if self.x_mean is None or self.x_std is None:
            return float(intercept), coef
        slopes = coef / self.x_std
        return float(intercept - slopes @ self.x_mean), slopes

    def __repr__(self) -> str:
        scaled = ", standardized" if self.scaled else ""
        return (f"Dataset({self.name!r}, n={len(self.x)}, features={self.n_features}, "
                f"train={len(self.train_idx)}, val={len(self.val_idx)}{scaled})")


def make_data(options: Options, namespace: Mapping[str, Any] | None = None) -> Dataset:
    """The data for these options (exactly the book's with the defaults).

    ``namespace`` is where ``--data user`` looks up ``--x`` and ``--y`` (the
    notebook's variables); nothing is written into it and the arrays are copied.
    """
    if options.data == "diabetes":
        data = _diabetes(options)
    elif options.data == "user":
        if namespace is None:
            namespace = user_namespace()
        if namespace is None:
            raise usage_error("--data user needs a namespace to find --x and --y in",
                              "the magic uses the notebook's variables",
                              "From Python, pass run_options(options, data=make_data(options, "
                              "namespace=globals()))")
        data = _user(options, namespace)
    else:
        data = _synthetic(options)
    return standardized(data) if options.scale == "standard" else data


def _synthetic(options: Options) -> Dataset:
    rs = np.random.RandomState(options.seed)
    n, features = options.n, options.features
    true_w = np.asarray(options.slopes, dtype=np.float64)
    x = rs.rand(n, features)
    epsilon = options.noise * rs.randn(n, 1)
    y = options.true_b + (x * true_w).sum(axis=1, keepdims=True) + epsilon
    # Shuffles the indices; uses the first 80% (by default) for training
    idx = np.arange(n)
    rs.shuffle(idx)
    n_train, _ = split_sizes(n, options.val_split)
    return Dataset(
        name="synthetic",
        x=x,
        y=y,
        train_idx=idx[:n_train],
        val_idx=idx[n_train:],
        true_b=float(options.true_b),
        true_w=tuple(float(v) for v in true_w),
        feature_names=tuple("x" if features == 1 else f"x{i + 1}" for i in range(features)),
    )


def _split(options: Options, n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)
    np.random.RandomState(options.seed).shuffle(idx)
    n_train, _ = split_sizes(n, options.val_split)
    return idx[:n_train], idx[n_train:]


def _diabetes(options: Options) -> Dataset:
    feature = (options.feature or "bmi").strip().lower()
    if feature not in DIABETES_FEATURES:
        raise usage_error(f"--feature {options.feature!r} is not a column of the diabetes set",
                          "valid features are " + ", ".join(DIABETES_FEATURES), "Try --feature bmi")
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    x = np.array(bunch.data[:, [DIABETES_FEATURES.index(feature)]], dtype=np.float64)
    y = np.array(bunch.target, dtype=np.float64).reshape(-1, 1)
    train_idx, val_idx = _split(options, len(x))
    return Dataset("diabetes", x, y, train_idx, val_idx, None, None, feature_names=(feature,),
                   target_name="disease progression",
                   source=f"scikit-learn's diabetes set ({len(x)} patients), feature {feature} "
                          "as scikit-learn ships it (mean-centred, sum of squares 1)")


_COLUMN = re.compile(r"""^([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*)|\[\s*(['"]?)(.+?)\3\s*\])$""")


def _user(options: Options, namespace: Mapping[str, Any]) -> Dataset:
    x_name, y_name = str(options.x), str(options.y)  # both given: Options checks it
    x_value, y_value = _aligned(x_name, _lookup("--x", x_name, namespace),
                                y_name, _lookup("--y", y_name, namespace))
    x, y = _numeric("--x", x_name, x_value), _numeric("--y", y_name, y_value)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if x.ndim != 2 or y.ndim != 1:
        flag, name, arr = ("--x", x_name, x) if x.ndim != 2 else ("--y", y_name, y)
        raise usage_error(f"{flag} {name} has shape {arr.shape}",
                          "--x takes one value per row (N,) or a table (N, F); --y one value per row",
                          f"Pass a one- or two-dimensional {flag}")
    if len(x) != len(y):
        raise usage_error(f"--x {x_name} has {len(x)} rows but --y {y_name} has {len(y)}",
                          "both need one entry per data point", "Pass arrays of the same length")
    _check_finite(("--x", x_name, x), ("--y", y_name, y))
    _check_size(options, x_name, x)
    train_idx, val_idx = _split(options, len(x))
    if len(train_idx) < 2 or (options.val_split > 0 and len(val_idx) < 1):
        raise usage_error(f"--x {x_name} has only {len(x)} rows",
                          f"with --val-split {options.val_split} the training set needs at least 2 "
                          "rows and the validation set 1", "Pass more data, or --val-split 0")
    features = _column_names(x_name, namespace, x.shape[1])
    return Dataset("user", x, y.reshape(-1, 1), train_idx, val_idx, None, None,
                   feature_names=features, target_name=y_name,
                   source=f"your data: x = {x_name}, y = {y_name} ({len(x)} rows)")


def _check_finite(*arrays: tuple[str, str, np.ndarray]) -> None:
    for flag, name, arr in arrays:
        bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
        if bad.any():
            raise usage_error(f"{flag} {name} has {int(bad.sum())} missing or infinite value(s) "
                              f"(first at row {int(np.argmax(bad))})", "every value must be a finite "
                              "number", "Drop those rows first, e.g. df.dropna()")


#: The most features user data may have: the closed form, the learning-rate limit and
#: the loss's quadratic form each work with an (F + 1) x (F + 1) matrix.
MAX_FEATURES = 1000
#: The largest recorded parameter path a run on user data may make (bytes).
MAX_PATH_BYTES = 4 * 2**30


def _check_size(options: Options, name: str, x: np.ndarray) -> None:
    """User data too wide for the closed form, or a path that would not fit in memory."""
    features = x.shape[1]
    if features > MAX_FEATURES:
        gram = (features + 1) ** 2 * 8
        raise usage_error(f"--x {name} has {features:,} columns: the closed form alone would need a "
                          f"{features + 1:,} x {features + 1:,} matrix ({gram / 2**30:.1f} GiB)",
                          f"valid data have at most {MAX_FEATURES:,} features (columns)",
                          "Pass a table of the columns to fit, e.g. cols = df[['a', 'b']], then --x cols")
    hidden = options.hidden
    n_params = features * hidden + 2 * hidden + 1 if hidden else features + 1
    path = (options.epochs + 1) * n_params * 8
    if path > MAX_PATH_BYTES:
        raise usage_error(f"--epochs {options.epochs} with {n_params:,} parameters ({features:,} "
                          f"features) would record a {path / 2**30:.1f} GiB parameter path",
                          f"valid runs record at most {MAX_PATH_BYTES / 2**30:.0f} GiB "
                          "(epochs x parameters x 8 bytes)", "Lower --epochs or --hidden, or pass "
                          "fewer columns")


def _aligned(x_name: str, x: Any, y_name: str, y: Any) -> tuple[Any, Any]:
    """pandas objects paired by their index, as pandas pairs them: the same labels
    in another order are put in --x's order; different labels are refused."""
    x_index: Any = getattr(x, "index", None)
    y_index: Any = getattr(y, "index", None)
    if not (hasattr(x_index, "equals") and hasattr(y_index, "equals")) or x_index.equals(y_index):
        return x, y
    same_labels = (len(x_index) == len(y_index) and x_index.is_unique and y_index.is_unique
                   and x_index.isin(y_index).all())
    if same_labels:
        return x, y.reindex(x_index)
    missing = int((~x_index.isin(y_index)).sum()) if x_index.is_unique and y_index.is_unique else None
    what = (f"{missing} label(s) of --x are not in --y's index" if missing else
            "an index has repeated labels")
    raise usage_error(f"--x {x_name} and --y {y_name} have different indexes ({what})",
                      "pandas data are paired by their index labels, which must match one to one",
                      "Align them first, e.g. y = y.reindex(x.index), or pass .to_numpy() "
                      "to pair by position")


def _lookup(flag: str, name: str, namespace: Mapping[str, Any]) -> Any:
    text = name.strip()
    if text in namespace and not text.startswith("_"):
        return namespace[text]
    match = _COLUMN.match(text)
    if match and match.group(1) in namespace:
        frame = namespace[match.group(1)]
        column = match.group(2) or match.group(4)
        try:
            return frame[column]
        except (KeyError, IndexError, TypeError, ValueError):
            columns = [str(c) for c in getattr(frame, "columns", [])]
            raise usage_error(f"{flag} {name}: {match.group(1)} has no column {column!r}",
                              ("its columns are " + ", ".join(columns[:20])) if columns
                              else f"{match.group(1)} is a {type(frame).__name__}, not a DataFrame",
                              f"Try {flag} {match.group(1)}.{columns[0]}" if columns
                              else f"Name an array with {flag}") from None
    arrays = sorted(k for k, v in namespace.items()
                    if not k.startswith("_") and k not in SHELL_NAMES and _array_like(v))
    close = difflib.get_close_matches(name, arrays, n=1)
    raise usage_error(f"{flag} {name}: no such variable in your namespace",
                      ("valid names here are " + ", ".join(arrays[:20])) if arrays
                      else "valid values name an array, list, Series or DataFrame (or df.column) "
                           "you defined",
                      f"Did you mean {flag} {close[0]}?" if close else
                      f"Define it in a cell first, e.g. {name.split('.')[0].split('[')[0]} = ...")


def _array_like(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return hasattr(value, "shape") and hasattr(value, "__len__") and not isinstance(value, type)


def _numeric(flag: str, name: str, value: Any) -> np.ndarray:
    kind = type(value).__name__
    if hasattr(value, "to_numpy"):  # pandas Series / DataFrame
        value = value.to_numpy()
    elif hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = _tensor_values(flag, name, value)
    elif np.ma.isMaskedArray(value):
        masked = int(np.ma.getmaskarray(value).sum())
        if masked:
            raise usage_error(f"{flag} {name} is a masked array with {masked} masked value(s)",
                              "valid data are plain arrays (the mask would be ignored)",
                              "Drop the masked rows from --x and --y first, e.g. keep = "
                              "~(np.ma.getmaskarray(x) | np.ma.getmaskarray(y)); x[keep].data")
        value = np.ma.getdata(value)
    values = value if isinstance(value, np.ndarray) else _as_array(flag, name, kind, value)
    _check_dtype(flag, name, kind, values.dtype)
    try:
        arr = np.array(values, dtype=np.float64)  # always a copy: the user's data stay as they are
    except (TypeError, ValueError):
        raise _not_numeric(flag, name, kind) from None
    if arr.ndim == 0:
        raise usage_error(f"{flag} {name} is a single number", "it needs one value per data point",
                          f"Pass an array or a column as {flag}")
    if arr.size == 0:
        raise usage_error(f"{flag} {name} is empty (shape {arr.shape})", "it needs one value per "
                          "data point, at least two points", f"Pass an array with data as {flag}")
    return arr


def _as_array(flag: str, name: str, kind: str, value: Any) -> np.ndarray:
    try:
        return np.asarray(value)
    except (TypeError, ValueError):  # ragged lists
        raise _not_numeric(flag, name, kind) from None


def _not_numeric(flag: str, name: str, kind: str) -> Exception:
    return usage_error(f"{flag} {name} is not numeric (a {kind} with values that are not numbers)",
                       "valid data are numbers (ints, floats or bools)",
                       "Convert or drop the non-numeric values first, e.g. pd.to_numeric")


#: dtype kinds that would convert to float64 but lose their meaning: what they are,
#: what converting would do, the fix.
_REFUSED_KINDS = {
    "c": ("is not real-valued: it holds complex numbers", "the imaginary part would be dropped",
          "Pass the real part, e.g. x.real, or abs(x)"),
    "M": ("is not numeric: it holds dates and times", "they would become nanosecond counts",
          "Pass a number such as days since the start, e.g. (t - t.min()) / np.timedelta64(1, 'D')"),
    "m": ("is not numeric: it holds time spans", "they would become nanosecond counts",
          "Pass them in a unit, e.g. t / np.timedelta64(1, 's')"),
    "U": ("is not numeric: it holds text", "text is not converted",
          "Convert it first, e.g. pd.to_numeric(x)"),
    "S": ("is not numeric: it holds bytes", "bytes are not converted",
          "Convert them first, e.g. x.astype(float)"),
}


def _check_dtype(flag: str, name: str, kind: str, dtype: np.dtype[Any]) -> None:
    if dtype.kind in _REFUSED_KINDS:
        what, why, fix = _REFUSED_KINDS[dtype.kind]
        raise usage_error(f"{flag} {name} {what} (a {kind})",
                          f"valid data are real numbers (ints, floats or bools): {why}", fix)
    if dtype.kind == "V":
        raise _not_numeric(flag, name, kind)


def _tensor_values(flag: str, name: str, tensor: Any) -> np.ndarray:
    """A tensor's values on the host, in float64 (bfloat16 and half included)."""
    if tensor.is_complex():
        raise usage_error(f"{flag} {name} is not real-valued: it holds complex numbers (a tensor "
                          f"of {tensor.dtype})",
                          "valid data are real numbers: the imaginary part would be dropped",
                          "Pass the real part, e.g. x.real")
    try:
        host = tensor.detach().cpu()  # to the host first: some devices (MPS) have no float64
        return np.asarray(host.double().numpy() if host.is_floating_point() else host.numpy())
    except (TypeError, RuntimeError):  # e.g. a sparse or quantized tensor
        raise _not_numeric(flag, name, type(tensor).__name__) from None


def _column_names(name: str, namespace: Mapping[str, Any], features: int) -> tuple[str, ...]:
    columns = getattr(namespace.get(name.strip()), "columns", None)
    if columns is not None and len(columns) == features:
        return tuple(str(c) for c in columns)
    match = _COLUMN.match(name.strip())
    if features == 1:
        return ((match.group(2) or match.group(4)) if match else name.strip(),)
    return tuple(f"{name.strip()}[{i}]" for i in range(features))


def standardized(data: Dataset) -> Dataset:
    """The data with features scaled by the training set's mean and standard deviation."""
    train = data.x_train
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    if (std == 0).any():
        column = data.feature_names[int(np.argmax(std == 0))]
        raise usage_error(f"--scale standard: feature {column} is constant on the training set",
                          "standardizing needs features that vary", "Use --scale none")
    true_b, true_w = data.true_b, data.true_w
    if true_b is not None and true_w is not None:
        slopes = np.asarray(true_w)
        true_b = float(true_b + slopes @ mean)
        true_w = tuple(float(v) for v in slopes * std)
    return replace(data, x=(data.x - mean) / std, true_b=true_b, true_w=true_w, x_mean=mean,
                   x_std=std)
