// Starts Swagger UI on the docs page (src/shop_http/controllers/docs.py). A file of its own, not an
// inline script, so that the page's Content-Security-Policy allows scripts from 'self' alone.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // no call to the public validator: the page asks its own origin only
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  });
});
