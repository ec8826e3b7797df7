"""
Text as sequences: balanced brackets, where only the order counts
==================================================================

Is ``(a(b)c)`` balanced? ``)a(b(c)``? Both have three letters, two ``(`` and two
``)``: a bag of characters (``CountVectorizer(analyzer='char')``) sees the same row for
both and cannot do better than chance. The order of the characters decides, so the
text has to be read as a sequence.

:class:`sknnedu.TextSequencer` turns each string into the ids of its characters, in
order (0 padding, 1 unseen, 2... the characters, most frequent first); a GRU with an
embedding (:class:`sknnedu.RNNClassifier` with ``embedding_dim=16``) reads them one by
one. The embedding is a learned lookup table, one row of 16 numbers per character,
starting small and random: after training the letters, which never change the answer,
sit together, while ``(`` and ``)``, which push the depth up and down, have moved to
opposite sides.

The last strings shown are unlike any training string: every training string has as
many ``(`` as ``)``, so the network never had to check that the depth ends at zero,
and it does not: it calls ``x(y(z)`` balanced. A model learns the task its data pose,
not the one we had in mind.

Writes ``text_brackets.png``::

    python examples/plot_text_brackets.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline

from sknnedu import RNNClassifier, TextSequencer
from sknnedu.text import make_brackets

LETTERS = "abcxyz"

# %%
# The data
# --------
# :func:`sknnedu.text.make_brackets` draws strings of 2 to 20 brackets with as many
# ``(`` as ``)``, half of them balanced at every length. Letters are sprinkled in
# (about one per three brackets), which never change the answer.


def sprinkle(X: list[str], rng: np.random.RandomState, rate: float = 0.3) -> list[str]:
    """Insert random letters between the brackets (the label stays the same)."""
    out = []
    for s in X:  # building strings: one per sample, not a numeric hot path
        n = rng.binomial(len(s) + 1, rate)
        chars = list(s)
        for pos, letter in zip(np.sort(rng.randint(0, len(s) + 1, n))[::-1],
                               rng.choice(list(LETTERS), n)):
            chars.insert(pos, letter)
        out.append("".join(chars))
    return out


# %%
# The code
# --------
# The pipeline is two lines; everything but ``embedding_dim`` is at its defaults. The
# held-out strings are fresh draws that fit never saw.

def main(out_dir: str | Path | None = None) -> dict:
    """Train the text pipeline and a bag of characters; draw embeddings, errors, examples."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    X, y = make_brackets(1000, random_state=0)
    X = sprinkle(X, rng)
    X_new, y_new = make_brackets(1000, random_state=1)
    X_new = sprinkle(X_new, rng)
    seen = set(X)
    keep = [i for i, s in enumerate(X_new) if s not in seen]
    X_test, y_test = [X_new[i] for i in keep], y_new[keep]

    pipe = make_pipeline(TextSequencer(analyzer="char"),
                         RNNClassifier(embedding_dim=16, random_state=0))
    bag = make_pipeline(CountVectorizer(analyzer="char"), LogisticRegression())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
        bag.fit(X, y)
    accuracy = float(pipe.score(X_test, y_test))
    bag_accuracy = float(bag.score(X_test, y_test))
    majority = float(max(y_test.mean(), 1 - y_test.mean()))
    print(f"held-out strings: {len(X_test)} (majority class {majority:.3f})")
    print(f"TextSequencer + RNNClassifier(embedding_dim=16): {accuracy:.3f}")
    print(f"CountVectorizer(char) + LogisticRegression:      {bag_accuracy:.3f}")

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2), gridspec_kw={"width_ratios": [1, 1, 1.3]})

    # 1. the embedding table, one row per id, in 2-D by PCA
    seq, clf = pipe
    E = clf.embeddings_
    names = {0: "pad", 1: "unseen"} | {i: t for t, i in seq.vocabulary_.items()}
    xy = PCA(n_components=2).fit_transform(E)
    ax = axes[0]
    for i, (a, b) in enumerate(xy):
        kind = "bracket" if names[i] in "()" else ("letter" if names[i] in LETTERS else "id")
        color = {"bracket": "tab:red", "letter": "tab:blue", "id": "tab:gray"}[kind]
        ax.scatter(a, b, s=160, color=color, alpha=0.7)
        ax.annotate(names[i], (a, b), ha="center", va="center", fontsize=11,
                    fontfamily="monospace", fontweight="bold")
    ax.set_title("Learned character embeddings (PCA of embeddings_)")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    letters = xy[[seq.vocabulary_[c] for c in LETTERS]]
    spread = float(np.linalg.norm(letters - letters.mean(0), axis=1).mean())
    gap = float(np.linalg.norm(xy[seq.vocabulary_["("]] - xy[seq.vocabulary_[")"]]))

    # 2. the confusion matrix on held-out strings
    ConfusionMatrixDisplay.from_predictions(
        y_test, pipe.predict(X_test), display_labels=["unbalanced", "balanced"],
        ax=axes[1], colorbar=False, cmap="Blues")
    axes[1].set_title(f"Held-out strings: accuracy {accuracy:.3f}\n"
                      f"(bag of characters: {bag_accuracy:.3f})")

    # 3. a few strings and the model's probability that they are balanced
    shown = ["(a)(b)", ")a(b", "((x)y(z))", "(()))(()", "((((()))))", "())(",
             "a(bc)(()x)", "x(y(z)", "(((", ""]
    unlike = {"x(y(z)", "(((", ""}  # unequal counts, or empty: no training string is
    p = pipe.predict_proba(shown)[:, 1]
    truth = [int(s.count("(") == s.count(")") and all(
        s[:k].count("(") >= s[:k].count(")") for k in range(len(s) + 1))) for s in shown]
    ax = axes[2]
    ax.barh(range(len(shown)), p, color=["tab:green" if t else "tab:orange" for t in truth])
    ax.set_yticks(range(len(shown)), [repr(s) + (" *" if s in unlike else "")
                                      for s in shown], fontfamily="monospace")
    ax.invert_yaxis()
    ax.axvline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(balanced)")
    ax.set_title("The model's probabilities (green: balanced)\n"
                 "* unlike every training string: unequal counts or empty")
    for s, q in zip(shown, p):
        print(f"  P(balanced | {s!r:14}) = {q:.3f}")
    fig.tight_layout()
    png = out / "text_brackets.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)
    print("wrote", png)
    return {"pngs": [png], "accuracy": accuracy, "bag_accuracy": bag_accuracy,
            "majority": majority, "letter_spread": spread, "bracket_gap": gap,
            "shown": dict(zip(shown, p.tolist())), "truth": dict(zip(shown, truth))}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
