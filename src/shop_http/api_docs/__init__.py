"""The API's documentation: the descriptions, examples and documented errors of each controller's
operations, one module per controller (`api_docs.payments` documents `controllers.payments`), so
that a controller reads as its routes.

What the core already knows is not restated here: status lists and the order's moves are written
from the enums and `TRANSITIONS` (`domain_text`), and error examples are the bodies the API answers
the core's own exceptions with (`openapi.sample`). The served reference is at /api/docs; the guide
is the docs site's API page (docs/api.md).
"""
