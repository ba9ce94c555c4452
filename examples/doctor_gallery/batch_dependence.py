"""Doctor gallery: batch-dependence. A user layer that subtracts the batch mean.

Run: python examples/doctor_gallery/batch_dependence.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["batch-dependence"]()
print(sn.doctor(model, x, y).to_text())
