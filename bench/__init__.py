"""Wirepress's benchmarks, run from the repository root as modules: `python -m bench.pipeline`
(`make bench`) pushes synthetic stories through a fresh local stack and measures end-to-end
throughput, latency and CPU per story of every process; `python -m bench.enrich`
(`make bench-enrich`) measures the related-links engine's quality (precision@5 on Reuters-21578
against baselines, with an ablation of its parameters) and speed (query and add time, memory, on
archives of 1k to 100k stories); `python -m bench.tagging` (`make bench-tagging`) measures the
tagger's precision and recall of people, organisations and places against Reuters' index terms and
its cost per story, and `python -m bench.tagging_spacy` (no make target: it runs in a venv of its
own) runs the same test on spaCy's small English NER. Results go to `bench/results/*.json`;
bench/README.md says how to read them.
"""
