"""Model cards on the read side: laid out as a document (document.py), rendered as
Markdown or HTML with every stored string inert (render.py), and compared between two
versions (diff.py). Pure: the cards come from the catalogue's rows."""
