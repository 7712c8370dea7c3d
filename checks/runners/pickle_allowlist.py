"""The documented allow-list of safe reconstructors, and the names known to execute code.

An entry belongs here only if calling it with *any* arguments a pickle can build — constants,
containers, other allowed objects — neither runs code, touches files or the network, nor imports
anything: it only builds data (arrays, tensors, containers, estimator objects whose ``__setstate__``
stores attributes).  Entries are exact ``module.name`` pairs as picklers write them; there are no
wildcards, because every allowed package also holds loaders (``numpy.load``, ``torch.load``,
``joblib.load``) and worse (``numpy.testing._private.utils.runstring``).

Bump :data:`POLICY_VERSION` whenever an entry is added or removed: verdicts record it, and the
rescan task re-examines every current model artifact after a change.
"""

from __future__ import annotations

POLICY_VERSION = "2026.12.1"

_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "python": ("plain containers and values of the standard library", (
        "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.complex", "builtins.slice",
        "builtins.range", "builtins.object", "builtins.bool", "builtins.int", "builtins.float", "builtins.str",
        "builtins.bytes", "builtins.tuple", "builtins.list", "builtins.dict",
        "collections.OrderedDict", "collections.Counter", "collections.defaultdict", "collections.deque",
        "copyreg._reconstructor", "_codecs.encode",
        "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
        "decimal.Decimal", "fractions.Fraction", "uuid.UUID",
    )),
    "numpy": ("NumPy arrays, dtypes, scalars and random generator state (NumPy 1.x and 2.x module paths)", (
        "numpy.ndarray", "numpy.dtype", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
        "numpy.bool_", "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64", "numpy.uint8", "numpy.uint16",
        "numpy.uint32", "numpy.uint64", "numpy.float16", "numpy.float32", "numpy.float64", "numpy.complex64",
        "numpy.complex128", "numpy.str_", "numpy.bytes_",
        "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor", "numpy.random.__RandomState_ctor", "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator", "numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64",
        "numpy.random._pcg64.PCG64DXSM", "numpy.random._philox.Philox", "numpy.random._sfc64.SFC64",
        "numpy.random.bit_generator.SeedSequence", "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    )),
    "torch": ("PyTorch tensor rebuild helpers, storages and dtypes (the names torch.load(weights_only=True) allows)", (
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_nested_tensor",
        "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
        "torch._utils._rebuild_device_tensor_from_cpu_tensor", "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
        "torch.Size", "torch.Tensor", "torch.device", "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
        *(f"torch.{kind}Storage" for kind in (
            "BFloat16", "Bool", "Byte", "Char", "ComplexDouble", "ComplexFloat", "Double", "Float", "Half", "Int",
            "Long", "Short", "QInt32", "QInt8", "QUInt2x4", "QUInt4x2", "QUInt8")),
        *(f"torch.cuda.{kind}Storage" for kind in (
            "BFloat16", "Bool", "Byte", "Char", "ComplexDouble", "ComplexFloat", "Double", "Float", "Half", "Int",
            "Long", "Short")),
        *(f"torch.{kind}Tensor" for kind in ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int",
                                              "Long", "Short")),
        *(f"torch.{dtype}" for dtype in (
            "bfloat16", "bool", "complex128", "complex32", "complex64", "float16", "float32", "float64",
            "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
            "float4_e2m1fn_x2", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
            "qint8", "qint32", "quint8", "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2",
            "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
            "per_channel_affine_float_qparams")),
    )),
    "joblib": ("joblib's array placeholder: it only carries shape, dtype and order; the array bytes follow it", (
        "joblib.numpy_pickle.NumpyArrayWrapper",
    )),
    "scipy": ("SciPy sparse matrices (arrays of indices and values)", (
        "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix", "scipy.sparse._coo.coo_matrix",
        "scipy.sparse._csr.csr_array", "scipy.sparse._csc.csc_array",
    )),
    "sklearn": ("common scikit-learn estimators and the helper objects they hold (their __setstate__ only stores "
                "attributes; their Cython helpers rebuild arrays)", (
        "sklearn.linear_model._logistic.LogisticRegression", "sklearn.linear_model._base.LinearRegression",
        "sklearn.linear_model._ridge.Ridge", "sklearn.linear_model._ridge.RidgeClassifier",
        "sklearn.linear_model._coordinate_descent.Lasso", "sklearn.linear_model._coordinate_descent.ElasticNet",
        "sklearn.linear_model._stochastic_gradient.SGDClassifier",
        "sklearn.linear_model._stochastic_gradient.SGDRegressor", "sklearn.linear_model._sgd_fast.Hinge",
        "sklearn.linear_model._sgd_fast.Log", "sklearn.linear_model._sgd_fast.SquaredLoss",
        "sklearn.linear_model._sgd_fast.ModifiedHuber", "sklearn.linear_model._sgd_fast.Huber",
        "sklearn.linear_model._sgd_fast.SquaredHinge", "sklearn.linear_model._sgd_fast.EpsilonInsensitive",
        "sklearn.ensemble._forest.RandomForestClassifier", "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.ensemble._forest.ExtraTreesClassifier", "sklearn.ensemble._forest.ExtraTreesRegressor",
        "sklearn.ensemble._gb.GradientBoostingClassifier", "sklearn.ensemble._gb.GradientBoostingRegressor",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._iforest.IsolationForest", "sklearn.ensemble._weight_boosting.AdaBoostClassifier",
        "sklearn.ensemble._weight_boosting.AdaBoostRegressor", "sklearn.ensemble._bagging.BaggingClassifier",
        "sklearn.ensemble._bagging.BaggingRegressor", "sklearn.ensemble._voting.VotingClassifier",
        "sklearn.ensemble._voting.VotingRegressor", "sklearn.ensemble._stacking.StackingClassifier",
        "sklearn.ensemble._stacking.StackingRegressor",
        "sklearn.tree._classes.DecisionTreeClassifier", "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._classes.ExtraTreeClassifier", "sklearn.tree._classes.ExtraTreeRegressor",
        "sklearn.tree._tree.Tree",
        "sklearn.svm._classes.SVC", "sklearn.svm._classes.SVR", "sklearn.svm._classes.LinearSVC",
        "sklearn.svm._classes.LinearSVR", "sklearn.svm._classes.NuSVC", "sklearn.svm._classes.OneClassSVM",
        "sklearn.neighbors._classification.KNeighborsClassifier", "sklearn.neighbors._regression.KNeighborsRegressor",
        "sklearn.neighbors._unsupervised.NearestNeighbors", "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._kd_tree.newObj", "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._ball_tree.newObj", "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.newObj",
        "sklearn.naive_bayes.GaussianNB", "sklearn.naive_bayes.MultinomialNB", "sklearn.naive_bayes.BernoulliNB",
        "sklearn.cluster._kmeans.KMeans", "sklearn.cluster._kmeans.MiniBatchKMeans", "sklearn.cluster._dbscan.DBSCAN",
        "sklearn.decomposition._pca.PCA", "sklearn.decomposition._truncated_svd.TruncatedSVD",
        "sklearn.preprocessing._data.StandardScaler", "sklearn.preprocessing._data.MinMaxScaler",
        "sklearn.preprocessing._data.RobustScaler", "sklearn.preprocessing._data.MaxAbsScaler",
        "sklearn.preprocessing._data.Normalizer", "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._encoders.OrdinalEncoder", "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.preprocessing._label.LabelBinarizer", "sklearn.preprocessing._polynomial.PolynomialFeatures",
        "sklearn.impute._base.SimpleImputer", "sklearn.pipeline.Pipeline", "sklearn.pipeline.FeatureUnion",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.feature_extraction.text.TfidfVectorizer", "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.feature_extraction.text.CountVectorizer",
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        "sklearn.neural_network._multilayer_perceptron.MLPRegressor",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.dummy.DummyClassifier", "sklearn.dummy.DummyRegressor", "sklearn.utils._bunch.Bunch",
        "sklearn._loss.loss.HalfBinomialLoss", "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.loss.HalfMultinomialLoss", "sklearn._loss.loss.AbsoluteError",
        "sklearn._loss.loss.HalfPoissonLoss", "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfSquaredError", "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss._loss.CyAbsoluteError", "sklearn._loss._loss.CyHalfPoissonLoss",
        "sklearn._loss.link.IdentityLink", "sklearn._loss.link.LogitLink", "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.link.LogLink", "sklearn._loss.link.Interval",
    )),
}

#: name -> the group it belongs to (what docs/checks.md lists).
SAFE_GLOBALS: dict[str, str] = {name: group for group, (_why, names) in _GROUPS.items() for name in names}
GROUP_REASONS: dict[str, str] = {group: why for group, (why, _names) in _GROUPS.items()}

# --- known code execution ---------------------------------------------------------------------

#: Any name inside these modules runs commands, code, imports, files or network access.
CRITICAL_MODULES: dict[str, str] = {
    "os": "operating-system calls (os.system, os.popen, os.exec*)", "posix": "operating-system calls",
    "nt": "operating-system calls", "subprocess": "starts processes", "pty": "spawns a shell",
    "commands": "runs shell commands", "popen2": "runs shell commands", "platform": "runs shell commands",
    "socket": "network access", "ssl": "network access", "http": "network access", "urllib": "network access",
    "urllib2": "network access", "requests": "network access", "httpx": "network access", "ftplib": "network access",
    "smtplib": "network access", "telnetlib": "network access", "xmlrpc": "network access",
    "webbrowser": "opens URLs", "asyncio": "starts processes and connections", "multiprocessing": "starts processes",
    "concurrent": "runs callables in other threads and processes", "threading": "runs callables in threads",
    "_thread": "runs callables in threads",
    "sys": "interpreter internals", "runpy": "runs Python code", "code": "runs Python code", "codeop": "compiles code",
    "importlib": "imports arbitrary modules", "imp": "imports arbitrary modules", "pkgutil": "imports by name",
    "zipimport": "imports code from archives", "pydoc": "imports by name and runs pagers",
    "timeit": "executes a code string", "trace": "runs code", "profile": "runs code", "cProfile": "runs code",
    "pdb": "runs code", "bdb": "runs code", "doctest": "runs code", "idlelib": "runs code", "lib2to3": "loads pickles",
    "ctypes": "calls native code", "_ctypes": "calls native code", "cffi": "calls native code",
    "marshal": "loads code objects", "types": "builds code and function objects", "pickle": "loads nested pickles",
    "_pickle": "loads nested pickles", "cPickle": "loads nested pickles", "dill": "loads pickles and code",
    "cloudpickle": "rebuilds functions from code", "shelve": "loads pickles", "copyreg": "registers reducers",
    "shutil": "copies and deletes files", "tempfile": "creates files", "io": "opens files", "_io": "opens files",
    "pathlib": "reads and writes files", "glob": "lists files", "fileinput": "reads files", "zipfile": "writes files",
    "tarfile": "extracts archives", "venv": "creates environments", "ensurepip": "installs packages",
    "pip": "installs packages", "setuptools": "runs builds", "distutils": "runs commands", "sysconfig": "reads the interpreter",
    "site": "changes the import path", "signal": "installs signal handlers", "gc": "interpreter internals",
    "inspect": "reaches code objects", "operator": "operator.attrgetter/methodcaller call any method",
    "functools": "functools.partial/reduce call other callables", "logging.config": "logging.config.listen runs code",
    "jinja2": "renders templates with code", "yaml": "yaml.load builds arbitrary objects",
    "numpy.testing": "numpy.testing._private.utils.runstring executes code", "numpy.f2py": "compiles native code",
    "numpy.distutils": "runs build commands", "numpy.lib.npyio": "loads files with pickles",
    "torch.hub": "downloads and runs code", "torch.utils.collect_env": "runs shell commands",
    "torch.jit": "loads TorchScript programs", "torch.utils.cpp_extension": "compiles and loads native code",
    "torch.distributed": "opens network rendezvous", "torch._dynamo": "compiles code", "torch._inductor": "compiles code",
    "torch.package": "imports packaged code", "torch.serialization": "torch.load loads nested pickles",
    "mlflow": "MLflow internals run entry points and processes (mlflow.projects.backend.local._run_entry_point)",
    "transformers.dynamic_module_utils": "imports remote code", "huggingface_hub": "downloads files",
    "keras": "deserialises layers, including Lambda code", "tensorflow": "runs graph ops on files",
    "joblib": "joblib.load loads nested pickles", "pandas.io": "reads files and pickles",
    "IPython": "runs code", "pexpect": "spawns processes", "paramiko": "opens SSH sessions", "fabric": "runs commands",
}

#: Exact names outside those modules.
CRITICAL_NAMES: dict[str, str] = {
    "builtins.eval": "evaluates a code string", "builtins.exec": "executes a code string",
    "builtins.compile": "compiles code", "builtins.__import__": "imports arbitrary modules",
    "builtins.open": "opens files", "builtins.getattr": "reaches any attribute (methods of allowed objects)",
    "builtins.setattr": "modifies objects", "builtins.delattr": "modifies objects", "builtins.globals": "interpreter internals",
    "builtins.locals": "interpreter internals", "builtins.vars": "interpreter internals", "builtins.breakpoint": "starts a debugger",
    "builtins.input": "reads the terminal", "builtins.help": "runs pydoc", "builtins.exit": "stops the process",
    "builtins.quit": "stops the process", "builtins.apply": "calls any callable", "builtins.execfile": "executes a file",
    "builtins.reload": "re-imports modules", "builtins.memoryview": "reaches raw memory",
    "numpy.load": "loads files with pickles", "numpy.loads": "loads pickles", "numpy.fromfile": "reads files",
    "numpy.memmap": "maps files", "numpy.save": "writes files", "numpy.loadtxt": "reads files",
    "torch.load": "loads nested pickles", "torch.storage._load_from_bytes": "loads nested pickles",
    "torch.compile": "compiles code", "torch._C._jit_pass_lower_all_tuples": "TorchScript internals",
    "pandas.read_pickle": "loads pickles", "pandas.read_csv": "reads files", "scipy.io.loadmat": "reads files",
}


def critical_reason(name: str) -> str:
    """Why ``name`` (``module.attr``) is known to execute code, or "" if it is not on the critical list."""
    if name in CRITICAL_NAMES:
        return CRITICAL_NAMES[name]
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        reason = CRITICAL_MODULES.get(".".join(parts[:i]))
        if reason:
            return reason
    if parts[0] in ("builtins", "__builtin__") and len(parts) > 2:
        return "an attribute path from a built-in reaches anything"
    return ""
