"""Diagnostics attached from outside the layers: gradient checks and the doctor."""
from .callback import Doctor
from .doctor import doctor
from .gradcheck import GradcheckResult, TensorCheck, gradcheck
from .report import Finding, Report

__all__ = ["gradcheck", "GradcheckResult", "TensorCheck", "doctor", "Doctor", "Finding", "Report"]
