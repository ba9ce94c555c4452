"""Doctor gallery: learning-rate-too-high. SGD with learning_rate=200.

Run: python examples/doctor_gallery/learning_rate_too_high.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["learning-rate-too-high"]()
print(sn.doctor(model, x, y).to_text())
