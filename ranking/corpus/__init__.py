"""The tagger's labeled corpus: posts.jsonl, built by build_corpus.py from hand-written skeletons."""
