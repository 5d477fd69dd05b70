"""Reference replication of Nguyen's *Adversarial Variational Autoencoders* (AVA, ICBDC 2024).

One way through: data -> cells -> aggregation -> check -> report.

* ``data``       loads, downloads, verifies or synthesises the images (shared by every protocol)
* ``metric``     the paper's balance metric BM (spec section 3)
* ``sweep``      models, learning rates, options and the settings hash
* ``seeding``    one explicit random stream per (model, learning rate, seed)
* ``protocols``  one module per protocol: ``author`` (the author's code) and ``paper`` (the equations)
* ``cell``       trains one (protocol, model, learning rate) cell over its seeds and writes its record
* ``tables``     aggregates cell records into bm.csv and Tables 1-3
* ``figures``    Figure 5 and the BM-vs-learning-rate figures
* ``check``      diffs against the published numbers and gives a verdict per claim
"""

__version__ = "0.1.0"
