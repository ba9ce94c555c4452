"""Doctor gallery: faults from the published taxonomies (Humbatova et al. ICSE 2020, DeepFD,
AUTOTRAINER, DeepDiagnosis, UMLAUT), each beside a healthy near-miss; prints each report's root
causes and the recall / precision / false-alarm figures over the whole gallery.

Run: python examples/doctor_gallery/taxonomy.py [NAME ...]
Setup: scratchnet/diagnostics/gallery_taxonomy.py
"""
import sys

import scratchnet as sn
from scratchnet.diagnostics.gallery import EXPECTED, GALLERY, HEALTHY

names = sys.argv[1:] or [*GALLERY, *HEALTHY]
found = true = raised = alarms = 0
for name in names:
    report = sn.doctor(*{**GALLERY, **HEALTHY}[name](samples=64, small=True))
    groups = report.ranked()
    roots = ", ".join(f"{root.label} (+{len(rest)})" for root, rest in groups
                      if root.at_least("warning")) or "clean"
    print(f"{'faulty ' if name in EXPECTED else 'healthy'} {name:28} {roots}")
    if name in EXPECTED:
        expected = {code for code, _ in EXPECTED[name]}
        found += all(report.find(code, layer) for code, layer in EXPECTED[name])
        for finding in report.above("info"):
            raised += 1
            true += finding.code in expected or (finding.caused_by or "").split(" at ")[0] \
                in expected
    else:
        alarms += not report.healthy
faulty = sum(name in EXPECTED for name in names)
print(f"recall {found}/{faulty}, precision {true}/{raised}, false alarms {alarms}/"
      f"{len(names) - faulty}")
