"""Doctor gallery: nan-activation. A user activation log(x) applied to values that can be negative:
NaN.

Run: python examples/doctor_gallery/nan_activation.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["nan-activation"]()
print(sn.doctor(model, x, y).to_text())
