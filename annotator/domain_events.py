"""What the domain did, told to whoever listens: Django signals sent by the core services.

Core services (annotator/services, dataset import, bucket sync) announce their changes here
instead of calling the optional features that care about them (the bucket write-back today,
model-assisted labelling next), so the core imports nothing from those features. Each feature
connects its receivers in `AnnotatorConfig.ready()`, with a `dispatch_uid`.

Invariants:

- A signal is sent inside the transaction that made the change, after the change was written.
  A receiver that writes rows (the write-back's revision bump) therefore commits or rolls
  back with the change: a rolled-back change leaves no trace in any receiver's rows.
- Receivers that talk to the outside world (queues, buckets, websockets, e-mail) must defer
  that to `transaction.on_commit` themselves: the change may still roll back.
- Signals are sent with `send`, not `send_robust`: a receiver that fails fails the change,
  rather than leaving its own rows out of step with it.
- Every signal is sent with `sender=Project` and the keyword arguments listed with it;
  `project_id` is always there, `image_ids` is a list of image primary keys.

The signals:

- `annotations_changed(project_id, image_ids)`: the annotations of these images changed (a
  save, an import, labels deleted or merged under them).
- `labels_changed(project_id)`: the project's labels were renamed, recoloured, reordered,
  deleted or merged.
- `images_added(project_id, image_ids)`: new image rows, by upload, dataset import or bucket sync.
- `images_removed(project_id, image_ids)`: image rows deleted (their annotations with them).

These are the server's own events; the websocket catalogue sent to browsers is
`annotator.events.EVENTS`.
"""

from __future__ import annotations

from django.dispatch import Signal

annotations_changed = Signal()
labels_changed = Signal()
images_added = Signal()
images_removed = Signal()
