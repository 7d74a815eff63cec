"""Measuring what a run learnt (`drawlab evaluate`, `drawlab compare`).

features      feature nets trained on the run's own data (classifier, or autoencoder for unlabelled folders)
frechet       Frechet distance (FID) with a real-valued, stable matrix square root
kid           kernel (MMD) distance
prdc          precision / recall / density / coverage (k-NN balls)
coverage      mode coverage from the classifier, conditional accuracy
memorisation  nearness to training images compared with held-out real images
evaluate      the whole protocol, the registry of metric kinds, eval.json and metrics.jsonl
report        the terminal table;  compare: Markdown table and bar chart of several runs
"""
