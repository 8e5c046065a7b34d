"""Named flows: each command of ``latdeploy`` as one library call (export, verify, run, sweep,
finetune, inspect, map, energy), all starting from :mod:`latdeploy.flows.prepare`."""
