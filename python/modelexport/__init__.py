"""modelexport from Python: `from modelexport.qnn import QNNCompiler`."""
from .qnn import ModelExportError, QNNCompiler

__all__ = ["QNNCompiler", "ModelExportError"]
