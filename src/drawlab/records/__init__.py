"""The run directory's file formats, one module each: what training writes and report, metrics and the
explorer read (D's histograms, verdicts, metrics.jsonl record kinds, eval.json, the monitor figures).

This floor sits under training, metrics and report, beside ``run.py``; it imports only the floors below
(config, losses, files, errors), so those three never import each other to read a run.
"""
