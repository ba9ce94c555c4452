"""Doctor gallery: cannot-overfit. Inputs scaled with // 256 instead of / 255: all zeros, nothing
to learn from.

Run: python examples/doctor_gallery/cannot_overfit.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["cannot-overfit"]()
print(sn.doctor(model, x, y).to_text())
