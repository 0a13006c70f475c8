// Starts ReDoc on /redoc (templates/docs/redoc.html) with the platform's system fonts, which need no download.
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  var fonts = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var options = {
    theme: {
      typography: {
        fontFamily: fonts,
        headings: { fontFamily: fonts },
        code: { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace' },
      },
    },
  };
  Redoc.init(container.dataset.specUrl, options, container);
})();
