"""Times the peer's MiniLM embedding step (sentence-transformers on CPU) beside
`switchboard bench`, in the same minutes, so the two can be quoted as a ratio.

The peer pipeline in ../shared/peers/embed_baseline.py is MiniLM + LogisticRegression; the
logistic regression adds microseconds, so the encoder is what is timed here (single message:
one encode per message after a warm-up, as the peers do; batch: the whole split, batch 64).

usage: python peer_minilm.py --model-dir DIR --test ../shared/data/banking77/test.csv [--n 500]
"""
import argparse, csv, json, os, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
import numpy as np
import torch
from sentence_transformers import SentenceTransformer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.test, newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    model = SentenceTransformer(args.model_dir, device="cpu")
    for text in texts[:50]:
        model.encode([text])
    single_ms = []
    for text in texts[: args.n]:
        started = time.perf_counter()
        model.encode([text])
        single_ms.append((time.perf_counter() - started) * 1e3)
    started = time.perf_counter()
    model.encode(texts, batch_size=64)
    batch_seconds = time.perf_counter() - started
    print(json.dumps({
        "single_median_ms": float(np.median(single_ms)),
        "single_p99_ms": float(np.percentile(single_ms, 99)),
        "n_single": len(single_ms),
        "batch_msgs_per_s": len(texts) / batch_seconds,
        "torch_threads": args.threads,
        "load_average": os.getloadavg(),
    }))


if __name__ == "__main__":
    main()
