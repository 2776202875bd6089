"""The demo: `make demo` (`rebill demo`) and the loopback sandboxes (`rebill sandbox`).

Demo code lives here, apart from the domain packages, so that nothing the product ships for
real depends on it. It sits at the top of the layers, just under `main`: it may import every
domain package (ledger, billing, sync, sandbox, ...), and none of them imports it.

- `demo.billing`: the main job on the demo partner described by `partner.toml` (package data);
- `demo.sync`: the demo's accounting sync into the QuickBooks and Xero sandboxes, and the
  `sandbox` command;
- `demo.reconcile`: the demo's last step, problems planted and then found by reconciliation.
"""
