"""The 2D lab (`drawlab lab`): a GAN (or its remedies) learning toy distributions in the plane, scored
by the mode-collapse papers' metrics, judged in words, drawn headless or live in the browser."""
