"""Doctor gallery: integer-labels. Integer labels (N,) with categorical_crossentropy (needs one-
hot).

Run: python examples/doctor_gallery/integer_labels.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["integer-labels"]()
print(sn.doctor(model, x, y).to_text())
