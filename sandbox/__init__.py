"""Stateful fakes of the remote APIs (QuickBooks Online, Xero, FreshBooks, Stripe), shipped so
that `rebill demo` and `rebill sandbox` run from an installed package: the demo pushes invoices
into them on loopback, and the tests use the same fakes through respx or on loopback. They
imitate the remotes' documented behaviour; they are not the remotes."""
