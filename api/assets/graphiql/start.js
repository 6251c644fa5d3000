// Starts GraphiQL against this server. Settings come from the page's data attributes: the
// endpoint, and in demo mode the demo admin's Authorization header. GraphiQL keeps what the
// user types in the headers editor in localStorage, so a token is pasted once.
(function () {
  var root = document.getElementById("graphiql");
  var props = {
    fetcher: GraphiQL.createFetcher({ url: root.dataset.endpoint }),
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: "headers",
    defaultQuery: root.dataset.query,
  };
  if (root.dataset.headers) {
    props.defaultHeaders = root.dataset.headers;
  }
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
