"""ThumbnailGrid: a clickable grid of captioned images, the one custom front end the widgets need.

ipywidgets has no clickable image, and one ``Image`` + ``Button`` pair per thumbnail would
make hundreds of widget models per page. This anywidget is one model: the kernel sends
a list of ``{src, caption, title, tone}`` items (``src`` a PNG data URL) and the browser
reports a click by setting ``selected`` to the item's position.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "lepton-thumbs";
  el.appendChild(root);
  function draw() {
    const items = model.get("items") || [];
    const size = model.get("size");
    const selected = model.get("selected");
    // At most `columns` per row, fewer when the output area is narrower.
    root.style.gridTemplateColumns = `repeat(auto-fill, ${size + 8}px)`;
    root.style.maxWidth = `${model.get("columns") * (size + 12)}px`;
    root.replaceChildren();
    items.forEach((item, index) => {
      const cell = document.createElement("figure");
      cell.className = "lepton-thumb" + (index === selected ? " lepton-selected" : "")
        + (item.tone ? " lepton-tone-" + item.tone : "");
      cell.title = item.title || "";
      cell.dataset.index = String(index);
      const img = document.createElement("img");
      img.src = item.src;
      img.width = size;
      img.height = size;
      img.alt = item.caption || "";
      const caption = document.createElement("figcaption");
      caption.textContent = item.caption || "";
      cell.append(img, caption);
      cell.addEventListener("click", () => {
        model.set("selected", index);
        model.save_changes();
      });
      root.appendChild(cell);
    });
  }
  model.on("change:items", draw);
  model.on("change:selected", draw);
  model.on("change:columns", draw);
  model.on("change:size", draw);
  draw();
}
export default { render };
"""

_CSS = """
.lepton-thumbs { display: grid; gap: 4px; }
.lepton-thumb { margin: 0; padding: 3px; border: 1px solid transparent; border-radius: 3px;
  cursor: pointer; text-align: center; }
.lepton-thumb:hover { border-color: var(--jp-brand-color2, #90caf9); }
.lepton-thumb img { image-rendering: pixelated; object-fit: contain; display: block; margin: auto;
  background: #fff; }
.lepton-thumb figcaption { font-size: 11px; line-height: 1.2; overflow: hidden; white-space: nowrap;
  text-overflow: ellipsis; color: var(--jp-ui-font-color1, #222); }
.lepton-selected { border-color: var(--jp-brand-color1, #1976d2); }
.lepton-tone-good figcaption { color: #2e7d32; }
.lepton-tone-bad figcaption { color: #c62828; font-weight: 600; }
"""


class ThumbnailGrid(anywidget.AnyWidget):
    """A grid of captioned thumbnails; clicking one sets :attr:`selected`.

    Parameters
    ----------
    columns : int
        Thumbnails per row.
    size : int
        Side of each thumbnail in CSS pixels.
    """

    _esm = _ESM
    _css = _CSS

    items = traitlets.List(
        traitlets.Dict(), help="Thumbnails: dicts with 'src' (data URL), 'caption', 'title', 'tone'."
    ).tag(sync=True)
    columns = traitlets.Int(8, help="Thumbnails per row.").tag(sync=True)
    size = traitlets.Int(64, help="Side of a thumbnail in CSS pixels.").tag(sync=True)
    selected = traitlets.Int(-1, help="Position of the clicked thumbnail in items, -1 for none.").tag(
        sync=True
    )

    @traitlets.validate("columns", "size")
    def _positive(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise traitlets.TraitError(f"{proposal['trait'].name} must be at least 1, got {value}")
        return value

    def on_select(self, callback: Any, remove: bool = False) -> None:
        """Call ``callback(position)`` when a thumbnail is clicked (``remove=True`` unregisters)."""

        def handler(change: dict[str, Any]) -> None:
            if change["new"] >= 0:
                callback(change["new"])

        if remove:
            for stored in [h for h in self._select_handlers if h[0] is callback]:
                self.unobserve(stored[1], "selected")
                self._select_handlers.remove(stored)
            return
        self._select_handlers.append((callback, handler))
        self.observe(handler, "selected")

    def __init__(self, **kwargs: Any) -> None:
        self._select_handlers: list[tuple[Any, Any]] = []
        super().__init__(**kwargs)
