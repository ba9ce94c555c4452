"""Doctor gallery: learning-rate-too-low. SGD with learning_rate=1e-7.

Run: python examples/doctor_gallery/learning_rate_too_low.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["learning-rate-too-low"]()
print(sn.doctor(model, x, y).to_text())
