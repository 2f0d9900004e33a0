"""Replay: an assessment packed as one signed bundle that a third party verifies and re-runs.

`writer.write_bundle` packs a workspace's evaluation runs, evidence and settings (never secrets);
`reader.open_bundle` checks the signature and every member before anything is trusted;
`replayer.replay` re-runs the bundle's runs with the same seeds and `compare` says what reproduced.
"""
