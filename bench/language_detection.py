"""Language detection of short support messages: accuracy, refusals, speed and memory.

Measures answerdesk.languages.detect (py3langid limited to the languages we name, with our confidence and
length rules) on bench/data/language_messages.json: 100 labelled messages (12 per widget language, 4 each in
Polish, Swedish, Turkish and Russian) and 30 messages that tell nothing ("ok", "danke", "#12345", a product
name), where the right answer is "no language". When lingua-language-detector is importable (it is not a
dependency: `pip install --target /tmp/x lingua-language-detector` and put /tmp/x on PYTHONPATH), it is
measured the same way, limited to the same languages, in its accurate and low-accuracy modes.

Run: `PYTHONPATH=src .venv/bin/python bench/language_detection.py`. Figures are per process and noisy on a
shared machine; memory is the resident-set growth while the detector loads (after numpy is imported).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy  # noqa: F401  (imported first, so that its memory is not counted as the detector's)

DATA = Path(__file__).with_name("data") / "language_messages.json"
Detect = Callable[[str], str | None]
# (with our confidence rule, best guess without it)
Detectors = tuple[Detect, Detect]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(name: str, load: Callable[[], Detectors]) -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    before, started = rss_mb(), time.perf_counter()
    detect, guess = load()
    detect("warm up the detector with a sentence")
    load_s, grown = time.perf_counter() - started, rss_mb() - before
    labelled = [(lang, text) for lang, texts in data["labelled"].items() for text in texts]
    started = time.perf_counter()
    got = [(lang, text, detect(text)) for lang, text in labelled]
    unknown = [(text, detect(text)) for text in data["unknown"]]
    per_message_ms = (time.perf_counter() - started) * 1000 / (len(labelled) + len(unknown))
    right = sum(1 for lang, _, found in got if found == lang)
    refused = sum(1 for _, _, found in got if found is None)
    silent = sum(1 for _, found in unknown if found is None)
    print(f"{name}")
    print(f"  load {load_s:.2f} s, memory +{grown:.0f} MB, {per_message_ms:.3f} ms per message")
    print(f"  labelled: {right}/{len(got)} right, {refused} refused, {len(got) - right - refused} wrong")
    for lang, text, found in got:
        if found != lang:
            print(f"    {lang} -> {found}: {text!r}")
    guessed = sum(1 for lang, text in labelled if guess(text) == lang)
    print(f"  labelled, best guess without the confidence rule: {guessed}/{len(labelled)} right")
    print(f"  tell-nothing messages left without a language: {silent}/{len(unknown)}")
    for text, found in unknown:
        if found is not None:
            print(f"    -> {found}: {text!r}")


def ours() -> Detectors:
    from answerdesk.languages.detect import _identifier, detect_language, load_detector

    load_detector()
    return detect_language, lambda text: str(_identifier().classify(text)[0])


def lingua(low_accuracy: bool) -> Callable[[], Detectors]:
    def load() -> Detectors:
        from lingua import IsoCode639_1, LanguageDetectorBuilder  # type: ignore[import-not-found]

        from answerdesk.languages.detect import MIN_CONFIDENCE, telling_text
        from answerdesk.languages.names import LANGUAGE_NAMES

        codes = [getattr(IsoCode639_1, "NB" if c == "no" else c.upper()) for c in LANGUAGE_NAMES]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models()
        detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

        def best(text: str) -> tuple[str | None, float]:
            values = detector.compute_language_confidence_values(text)
            if not values:
                return None, 0.0
            code = values[0].language.iso_code_639_1.name.lower()
            return ("no" if code == "nb" else str(code)), values[0].value

        def detect(text: str) -> str | None:
            clean = telling_text(text)  # the same length rule as ours: only the detectors differ
            code, confidence = best(clean) if clean else (None, 0.0)
            return code if confidence >= MIN_CONFIDENCE else None

        return detect, lambda text: best(text)[0]

    return load


DETECTORS = {
    "py3langid": (
        "answerdesk.languages.detect (py3langid, 23 languages, confidence >= 0.65, >= 2 words)",
        ours,
    ),
    "lingua": ("lingua-language-detector, accurate mode, same languages, rules", lingua(False)),
    "lingua-low": ("lingua-language-detector, low-accuracy mode, same languages, rules", lingua(True)),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--detector", choices=sorted(DETECTORS), help="measure one (default: each in its own process)"
    )
    args = parser.parse_args()
    if args.detector:
        measure(*DETECTORS[args.detector])
        return
    for name in DETECTORS:
        if name.startswith("lingua") and importlib.util.find_spec("lingua") is None:
            print(f"{name}: lingua-language-detector is not installed, not measured")
            continue
        subprocess.run([sys.executable, __file__, "--detector", name], check=True)  # memory: one per process


if __name__ == "__main__":
    main()
