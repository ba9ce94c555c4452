"""Doctor gallery: sigmoid-crossentropy. sigmoid outputs with categorical_crossentropy.

Run: python examples/doctor_gallery/sigmoid_crossentropy.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["sigmoid-crossentropy"]()
print(sn.doctor(model, x, y).to_text())
