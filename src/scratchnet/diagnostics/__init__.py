"""Diagnostics attached from outside the layers: gradient checks and the doctor."""
from .gradcheck import GradcheckResult, TensorCheck, gradcheck

__all__ = ["gradcheck", "GradcheckResult", "TensorCheck"]
