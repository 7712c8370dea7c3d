from django.db import models

from mlsec_portal.choices import BadgeChoices


class SourceKind(models.TextChoices):
    GIT = "git", "Git repository"
    S3 = "s3", "S3 bucket"
    MLFLOW = "mlflow", "MLflow model registry"
    PATH = "path", "Directory in the team's check root"
    ENDPOINT = "endpoint", "Serving endpoint"


REMOTE_KINDS = (SourceKind.GIT, SourceKind.S3, SourceKind.MLFLOW)


class SourceStatus(BadgeChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    NEVER = "never", "Never used"

    __badges__ = {"ok": "success", "error": "warning", "never": "neutral"}


class AssetKind(models.TextChoices):
    MODEL = "model", "Model"
    DATASET = "dataset", "Dataset"


# Which keys of a credential each kind takes (write-only; stored encrypted).
CREDENTIAL_KEYS = {
    SourceKind.GIT: ({"token"}, {"ssh_key"}),
    SourceKind.S3: ({"access_key_id", "secret_access_key"},),
    SourceKind.MLFLOW: ({"token"},),
    SourceKind.PATH: (),
    SourceKind.ENDPOINT: (),
}

# The location fields of each kind, as the API names them.
CONFIG_FIELDS = {
    SourceKind.GIT: ("url", "ref", "subdir"),
    SourceKind.S3: ("endpoint_url", "bucket", "prefix", "region"),
    SourceKind.MLFLOW: ("tracking_uri", "models", "alias", "stage"),
    SourceKind.PATH: ("path", "dependency_files", "model_artifacts", "datasets"),
    SourceKind.ENDPOINT: ("url",),
}

MODEL_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".safetensors", ".onnx", ".h5",
                  ".hdf5", ".keras", ".gguf", ".npy", ".npz", ".pb", ".tflite", ".msgpack")
DATASET_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
DEPENDENCY_NAMES = ("requirements.txt", "requirements-dev.txt", "poetry.lock", "Pipfile.lock", "uv.lock",
                    "pylock.toml", "pyproject.toml")
