"""The book's published transfer-learning figures, in one place, each derived from the two accuracies it reports.

Task B has 2,000 test images (1,000 per Fashion-MNIST class). The book reports 97.2% for B from scratch and
99.25% for B on A: 56 and 15 errors, a gain of 2.05 points and an error ratio of 56 / 15 = 3.73, which the
text rounds to "a factor of 4" (2.8% -> 0.7%; 15 errors are 0.75%).
"""

from __future__ import annotations

N_TEST = 2000  # task-B test images: every Fashion-MNIST class has 1,000
SCRATCH_ACCURACY = 0.972  # B from scratch, test accuracy
TRANSFER_ACCURACY = 0.9925  # B on A, test accuracy
SCRATCH_ERRORS = round((1 - SCRATCH_ACCURACY) * N_TEST)  # 56
TRANSFER_ERRORS = round((1 - TRANSFER_ACCURACY) * N_TEST)  # 15
GAIN_POINTS = round(100 * (TRANSFER_ACCURACY - SCRATCH_ACCURACY), 2)  # 2.05
ERROR_RATIO = SCRATCH_ERRORS / TRANSFER_ERRORS  # 3.73, "a factor of 4" in the text
