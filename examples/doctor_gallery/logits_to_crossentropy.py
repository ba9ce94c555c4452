"""Doctor gallery: logits-to-crossentropy. No softmax on the output, but categorical_crossentropy
expects probabilities.

Run: python examples/doctor_gallery/logits_to_crossentropy.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["logits-to-crossentropy"]()
print(sn.doctor(model, x, y).to_text())
