// The interactive viewer: the same views as the PNG, drawn each frame into an
// SDL window, with ImGui side panels (details of the clicked item, search,
// node filter) and a help overlay. Navigation: wheel and +/- zoom, drag and
// arrow keys pan, the cursor follows the mouse across every view.
#include "cli.hpp"

#include <imgui.h>
#include <imgui_impl_sdl.h>
#include <imgui_impl_sdlrenderer.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace gantry::viz {

namespace {

constexpr int side_panel_px = 340;
constexpr double zoom_step = 0.8;    // one wheel notch or key press
constexpr double pan_step = 0.1;     // fraction of the window per arrow key
constexpr u32 follow_period_ms = 500;
constexpr usize search_results_max = 200;
constexpr usize connection_list_max = 500; // the filter's list: the busiest ones

constexpr const char* help_text =
    "mouse wheel, + / -   zoom around the mouse (keys: around the centre)\n"
    "drag, left / right   pan in time\n"
    "up / down, PgUp/Dn   scroll the lanes\n"
    "0 or Home            show the whole trace\n"
    "click                details (right panel): span, marker, frame arrow, fault,\n"
    "                     page map block, heap class bar\n"
    "f                    focus the search box\n"
    "n                    network: only the clicked frame's (or TCP row's) connection\n"
    "p                    network: only the clicked frame's protocol\n"
    "c                    clear the network filter (protocols and connection)\n"
    "?                    this help\n"
    "q or Esc             quit";

class Viewer {
public:
    Viewer(const CliOptions& options, TraceModel model, std::unique_ptr<TraceFollower> follower);
    ~Viewer();
    Viewer(const Viewer&) = delete;
    int run();

private:
    void handle(const SDL_Event& event);
    void handle_key(const SDL_Keysym& key);
    void handle_text(std::string_view text);
    void handle_mouse(const SDL_Event& event);
    void frame();
    void side_panel();
    void search_panel();
    void filter_panel();
    void filter_to_selection(bool connection);
    const std::vector<ConnectionCount>& connections();
    void help_window();
    void follow();
    Layout layout() const;
    Size canvas_size() const;
    void jump_to(const Hit& hit);

    const TraceModel& model() const { return m_follower ? m_follower->model() : m_model; }

    CliOptions m_options;
    TraceModel m_model; // unless following
    std::unique_ptr<TraceFollower> m_follower;
    SDL_Window* m_window = nullptr;
    SDL_Renderer* m_renderer = nullptr;
    TimeWindow m_time;
    LayoutOptions m_layout;
    Overlay m_overlay;
    std::vector<Hit> m_results;
    std::string m_results_for;
    std::vector<ConnectionCount> m_connections;
    usize m_headerless_frames = 0; // link frames no net_tx record matched
    bool m_connections_stale = true;
    char m_search[128] = {};
    bool m_help = false;
    bool m_quit = false;
    bool m_focus_search = false;
    bool m_dragging = false;
    bool m_dragged = false;
    int m_drag_x = 0;
    TimeWindow m_drag_time;
    u32 m_last_follow = 0;
};

// When no display can be opened, SDL falls back to its "offscreen" (or "dummy")
// driver and a viewer would run with a window nobody can see (it does with
// DISPLAY unset; by the symptoms, so did the Xvfb tests once). Such a driver
// is accepted only when SDL_VIDEODRIVER asks for it.
void refuse_windowless_driver()
{
    const char* driver = SDL_GetCurrentVideoDriver();
    std::string name = driver != nullptr ? driver : "";
    if (name != "offscreen" && name != "dummy" && name != "evdev")
        return;
    const char* requested = std::getenv("SDL_VIDEODRIVER");
    if (requested != nullptr && name == requested)
        return;
    const char* display = std::getenv("DISPLAY");
    SDL_Quit();
    throw std::runtime_error(
        "cannot open a display (DISPLAY=" + std::string(display != nullptr ? display : "unset") +
        "): SDL could only start its window-less '" + name + "' video driver" +
        "\nhint: check DISPLAY (or WAYLAND_DISPLAY), or use --png OUT.png for a headless render");
}

Viewer::Viewer(const CliOptions& options, TraceModel loaded,
               std::unique_ptr<TraceFollower> follower)
    : m_options(options), m_model(std::move(loaded)), m_follower(std::move(follower))
{
    if (SDL_Init(SDL_INIT_VIDEO) != 0)
        throw std::runtime_error(std::string("cannot start SDL video: ") + SDL_GetError() +
                                 "\nhint: no display? use --png OUT.png for a headless render");
    refuse_windowless_driver();
    std::string title = "gantry-viz " + options.trace;
    // Hidden until the renderer exists: an OpenGL renderer makes SDL destroy and
    // recreate a window that was not created for OpenGL, and SDL's maintainers
    // advise this order. (The tests' window that never appeared, about 1 start
    // in 300, looks by its symptoms like SDL's offscreen driver instead: see
    // refuse_windowless_driver.)
    m_window = SDL_CreateWindow(title.c_str(), SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                                1500, 900, SDL_WINDOW_RESIZABLE | SDL_WINDOW_HIDDEN);
    if (m_window == nullptr)
        throw std::runtime_error(std::string("cannot open a window: ") + SDL_GetError());
    m_renderer = SDL_CreateRenderer(m_window, -1, SDL_RENDERER_ACCELERATED);
    if (m_renderer == nullptr) // no GPU (Xvfb, remote X): software is fast enough
        m_renderer = SDL_CreateRenderer(m_window, -1, SDL_RENDERER_SOFTWARE);
    if (m_renderer == nullptr)
        throw std::runtime_error(std::string("cannot create a renderer: ") + SDL_GetError());
    SDL_ShowWindow(m_window);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr; // no imgui.ini next to the user's traces
    ImGui::StyleColorsDark();
    ImGui_ImplSDL2_InitForSDLRenderer(m_window);
    ImGui_ImplSDLRenderer_Init(m_renderer);
    m_layout.view = options.render.layout.view;
    m_layout.net_filter = options.render.layout.net_filter; // --protocol, --connection
    m_time = png_window(model(), options.render);
    m_layout.node_visible.assign(model().nodes.size(), true);
}

Viewer::~Viewer()
{
    ImGui_ImplSDLRenderer_Shutdown();
    ImGui_ImplSDL2_Shutdown();
    ImGui::DestroyContext();
    if (m_renderer)
        SDL_DestroyRenderer(m_renderer);
    if (m_window)
        SDL_DestroyWindow(m_window);
    SDL_Quit();
}

Size Viewer::canvas_size() const
{
    int w = 0, h = 0;
    SDL_GetRendererOutputSize(m_renderer, &w, &h);
    return {std::max(w - side_panel_px, 200), std::max(h, 120)};
}

Layout Viewer::layout() const
{
    LayoutOptions options = m_layout;
    options.at = m_overlay.cursor; // the page map and heap classes follow the cursor
    return compute_layout(model(), canvas_size(), m_time, options);
}

int Viewer::run()
{
    while (!m_quit) {
        SDL_Event event;
        // Wait rather than spin: the viewer costs nothing while nobody touches it.
        if (SDL_WaitEventTimeout(&event, m_options.follow ? follow_period_ms : 250)) {
            handle(event);
            while (SDL_PollEvent(&event))
                handle(event);
        }
        if (m_options.follow)
            follow();
        frame();
    }
    return 0;
}

void Viewer::handle(const SDL_Event& event)
{
    ImGui_ImplSDL2_ProcessEvent(&event);
    ImGuiIO& io = ImGui::GetIO();
    switch (event.type) {
    case SDL_QUIT:
        m_quit = true;
        break;
    case SDL_KEYDOWN:
        if (!io.WantCaptureKeyboard)
            handle_key(event.key.keysym);
        else if (event.key.keysym.sym == SDLK_ESCAPE)
            ImGui::SetWindowFocus(nullptr); // Esc leaves the search box first
        break;
    case SDL_TEXTINPUT:
        if (!io.WantTextInput)
            handle_text(event.text.text);
        break;
    case SDL_MOUSEWHEEL:
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
    case SDL_MOUSEMOTION:
        if (!io.WantCaptureMouse || m_dragging)
            handle_mouse(event);
        break;
    }
}

void Viewer::handle_key(const SDL_Keysym& key)
{
    Layout current = layout();
    TimeScale scale = current.scale();
    TimeNs centre = scale.window.from + scale.window.span() / 2;
    switch (key.sym) {
    case SDLK_q:
    case SDLK_ESCAPE:
        m_quit = true;
        break;
    case SDLK_LEFT:
        m_time = pan(m_time, -pan_step);
        break;
    case SDLK_RIGHT:
        m_time = pan(m_time, pan_step);
        break;
    case SDLK_UP:
    case SDLK_PAGEUP:
        m_layout.timeline_scroll_px = std::max(
            m_layout.timeline_scroll_px - (key.sym == SDLK_UP ? 24 : 240), 0);
        break;
    case SDLK_DOWN:
    case SDLK_PAGEDOWN:
        m_layout.timeline_scroll_px += key.sym == SDLK_DOWN ? 24 : 240;
        break;
    case SDLK_HOME:
    case SDLK_0:
        m_time = full_window(model());
        m_layout.timeline_scroll_px = 0;
        break;
    case SDLK_KP_PLUS:
        m_time = zoom(m_time, zoom_step, centre);
        break;
    case SDLK_KP_MINUS:
        m_time = zoom(m_time, 1 / zoom_step, centre);
        break;
    case SDLK_f:
        m_focus_search = true;
        break;
    case SDLK_c:
        m_layout.net_filter = {};
        break;
    case SDLK_n:
    case SDLK_p:
        filter_to_selection(key.sym == SDLK_n);
        break;
    }
}

// '+', '-' and '?' come as text, so they work whatever the keyboard layout.
void Viewer::handle_text(std::string_view text)
{
    TimeNs centre = m_time.from + m_time.span() / 2;
    if (text == "+" || text == "=")
        m_time = zoom(m_time, zoom_step, centre);
    else if (text == "-")
        m_time = zoom(m_time, 1 / zoom_step, centre);
    else if (text == "?")
        m_help = !m_help;
}

bool over_snapshot(const Layout& layout, int x, int y)
{
    if (!layout.memory)
        return false;
    for (const MemoryPlot& plot : layout.memory->plots)
        if (plot.page_map.contains(x, y) || plot.heap_classes.contains(x, y))
            return true;
    return false;
}

void Viewer::handle_mouse(const SDL_Event& event)
{
    Layout current = layout();
    TimeScale scale = current.scale();
    if (event.type == SDL_MOUSEWHEEL) {
        int x = 0, y = 0;
        SDL_GetMouseState(&x, &y);
        double factor = event.wheel.y > 0 ? zoom_step : 1 / zoom_step;
        m_time = zoom(m_time, factor, scale.time_at(x));
    } else if (event.type == SDL_MOUSEBUTTONDOWN && event.button.button == SDL_BUTTON_LEFT) {
        m_dragging = true;
        m_dragged = false;
        m_drag_x = event.button.x;
        m_drag_time = m_time;
    } else if (event.type == SDL_MOUSEBUTTONUP && event.button.button == SDL_BUTTON_LEFT) {
        m_dragging = false;
        if (!m_dragged) // a click, not the end of a drag: select what is under it
            m_overlay.selected = hit_test(model(), current, event.button.x, event.button.y);
    } else if (event.type == SDL_MOUSEMOTION) {
        // Over the page map or the heap bars the cursor stays put, so what they
        // show can be pointed at and clicked.
        if (event.motion.x < current.size.w && !over_snapshot(current, event.motion.x,
                                                              event.motion.y))
            m_overlay.cursor = scale.time_at(event.motion.x);
        if (m_dragging && std::abs(event.motion.x - m_drag_x) > 2) {
            m_dragged = true;
            double moved = static_cast<double>(m_drag_x - event.motion.x) / scale.plot.w;
            m_time = pan(m_drag_time, moved);
        }
    }
}

void Viewer::jump_to(const Hit& hit)
{
    TimeNs at = hit_time(model(), hit);
    TimeNs half = m_time.span() / 2;
    m_time = {at > half ? at - half : 0, (at > half ? at - half : 0) + m_time.span()};
    m_overlay.selected = hit;
    m_overlay.cursor = at;
}

void Viewer::search_panel()
{
    if (m_focus_search) {
        ImGui::SetKeyboardFocusHere();
        m_focus_search = false;
    }
    ImGui::InputTextWithHint("##search", "text, 'node 3', log, phase, fiber, idle, drop, disk, fault, frame, retransmit",
                             m_search, sizeof(m_search));
    m_overlay.search = m_search;
    if (m_results_for != m_search) { // search again only when the query changes
        m_results = search(model(), m_search, search_results_max);
        m_results_for = m_search;
    }
    if (m_results.empty())
        return;
    ImGui::Text("%zu result%s%s", m_results.size(), m_results.size() == 1 ? "" : "s",
                m_results.size() == search_results_max ? " (first ones)" : "");
    ImGui::BeginChild("results", ImVec2(0, 180), true);
    for (usize i = 0; i < m_results.size(); ++i) {
        std::string text = describe(model(), m_results[i]);
        std::string first_line = text.substr(0, text.find('\n'));
        ImGui::PushID(static_cast<int>(i));
        if (ImGui::Selectable(first_line.c_str()))
            jump_to(m_results[i]);
        ImGui::PopID();
    }
    ImGui::EndChild();
}

// Narrows the network view to what the selection is: its connection, or its
// protocol (the other half of the filter is kept).
void Viewer::filter_to_selection(bool connection)
{
    if (!m_overlay.selected)
        return;
    if (connection) {
        if (auto picked = hit_connection(model(), *m_overlay.selected))
            m_layout.net_filter.connection = picked;
    } else if (auto picked = hit_protocol(model(), *m_overlay.selected)) {
        m_layout.net_filter.protocols = protocol_bit(*picked);
    }
}

const std::vector<ConnectionCount>& Viewer::connections()
{
    if (m_connections_stale) { // once per load (and per poll that brought records)
        m_connections = list_connections(model(), connection_list_max);
        m_headerless_frames = 0;
        for (const LinkFrame& frame : model().link_frames)
            m_headerless_frames += frame.protocol == NetProtocol::unknown;
        m_connections_stale = false;
    }
    return m_connections;
}

void Viewer::filter_panel()
{
    NetFilter& filter = m_layout.net_filter;
    const std::vector<ConnectionCount>& known = connections();
    if (filter.active())
        ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.25f, 1.0f), "only %s", filter.to_string().c_str());
    else
        ImGui::TextDisabled("none: every frame is shown");
    for (usize i = 0; i < net_protocols_selectable; ++i) {
        NetProtocol protocol = static_cast<NetProtocol>(i);
        bool on = (filter.protocols & protocol_bit(protocol)) != 0;
        if (i > 0)
            ImGui::SameLine();
        if (ImGui::Checkbox(net_protocol_name(protocol), &on))
            filter.protocols ^= protocol_bit(protocol);
    }
    std::string current = filter.connection ? filter.connection->to_string() : "any connection";
    if (ImGui::BeginCombo("##connection", current.c_str())) {
        if (ImGui::Selectable("any connection", !filter.connection))
            filter.connection.reset();
        for (const ConnectionCount& entry : known) {
            std::string label = entry.connection.to_string() + "  (" +
                                std::to_string(entry.frames) + ")";
            if (ImGui::Selectable(label.c_str(), filter.connection == entry.connection))
                filter.connection = entry.connection;
        }
        ImGui::EndCombo();
    }
    bool picked = m_overlay.selected && hit_connection(model(), *m_overlay.selected);
    ImGui::BeginDisabled(!picked);
    if (ImGui::Button("selected's connection (n)"))
        filter_to_selection(true);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!m_overlay.selected || !hit_protocol(model(), *m_overlay.selected));
    if (ImGui::Button("its protocol (p)"))
        filter_to_selection(false);
    ImGui::EndDisabled();
    if (ImGui::Button("clear (c)"))
        filter = {};
    if (m_headerless_frames > 0 && filter.active())
        ImGui::TextWrapped("%zu link frame(s) without headers (no net_tx record) are hidden",
                           m_headerless_frames);
}

void Viewer::side_panel()
{
    Size canvas = canvas_size();
    ImGui::SetNextWindowPos(ImVec2(static_cast<float>(canvas.w), 0));
    ImGui::SetNextWindowSize(ImVec2(side_panel_px, static_cast<float>(canvas.h)));
    ImGui::Begin("gantry-viz", nullptr,
                 ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);
    ImGui::TextWrapped("%s", m_options.trace.c_str());
    ImGui::Text("%llu records, %zu nodes", static_cast<unsigned long long>(model().records),
                model().nodes.size());
    ImGui::Text("shown: %s", format_duration(m_time.span()).c_str());
    if (m_overlay.cursor)
        ImGui::Text("cursor: %s", format_time(*m_overlay.cursor).c_str());
    int view = static_cast<int>(m_layout.view);
    ImGui::Combo("view", &view, "timeline\0memory\0network\0tcp\0all\0");
    m_layout.view = static_cast<View>(view);
    if (ImGui::CollapsingHeader("Details", ImGuiTreeNodeFlags_DefaultOpen)) {
        if (m_overlay.selected)
            ImGui::TextWrapped("%s", describe(model(), *m_overlay.selected).c_str());
        else
            ImGui::TextDisabled("click a span or marker");
    }
    if (ImGui::CollapsingHeader("Search", ImGuiTreeNodeFlags_DefaultOpen))
        search_panel();
    if (ImGui::CollapsingHeader("Network filter", ImGuiTreeNodeFlags_DefaultOpen))
        filter_panel();
    if (ImGui::CollapsingHeader("Nodes", ImGuiTreeNodeFlags_DefaultOpen))
        for (usize slot = 0; slot < model().nodes.size(); ++slot) {
            bool shown = m_layout.node_visible[slot];
            std::string label = "node " + std::to_string(model().nodes[slot].node);
            if (ImGui::Checkbox(label.c_str(), &shown))
                m_layout.node_visible[slot] = shown;
        }
    ImGui::Separator();
    ImGui::TextDisabled("press ? for keys");
    ImGui::End();
}

void Viewer::help_window()
{
    if (!m_help)
        return;
    ImGuiIO& io = ImGui::GetIO();
    ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x / 2, io.DisplaySize.y / 2), ImGuiCond_Always,
                            ImVec2(0.5f, 0.5f));
    ImGui::Begin("Keys (? to close)", &m_help,
                 ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoCollapse);
    ImGui::TextUnformatted(help_text);
    ImGui::End();
}

void Viewer::frame()
{
    ImGui_ImplSDLRenderer_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    ImGui::NewFrame();
    side_panel();
    help_window();
    ImGui::Render();
    SDL_SetRenderDrawColor(m_renderer, 0, 0, 0, 255);
    SDL_RenderClear(m_renderer);
    Layout current = layout();
    Canvas canvas(m_renderer);
    render(canvas, model(), current, m_overlay);
    ImGui_ImplSDLRenderer_RenderDrawData(ImGui::GetDrawData());
    SDL_RenderPresent(m_renderer);
}

// Reads what was appended since the last poll (TraceFollower): the cost is
// the new records, however long the trace already is.
void Viewer::follow()
{
    u32 now = SDL_GetTicks();
    if (!m_follower || now - m_last_follow < follow_period_ms)
        return;
    m_last_follow = now;
    try {
        usize nodes = model().nodes.size();
        bool at_end = model().empty() || m_time.to >= full_window(model()).to;
        u64 restarts = m_follower->restarts();
        if (!m_follower->poll())
            return;
        if (model().nodes.size() != nodes || m_follower->restarts() != restarts) {
            m_layout.node_visible.assign(model().nodes.size(), true);
            m_overlay.selected.reset(); // indexes may refer to other nodes now
        }
        m_results_for.clear();
        m_connections_stale = true;
        if (at_end) { // keep the newest records in view, like tail -f
            TimeWindow whole = full_window(model());
            m_time = whole.to > m_time.span() && nodes > 0
                         ? TimeWindow{whole.to - m_time.span(), whole.to}
                         : whole;
        }
    } catch (const LoadError& error) {
        std::fprintf(stderr, "gantry-viz: %s (showing the records before it)\n",
                     error.to_string().c_str());
    }
}

} // namespace

int run_interactive(const CliOptions& options, TraceModel loaded,
                    std::unique_ptr<TraceFollower> follower)
{
    Viewer viewer(options, std::move(loaded), std::move(follower));
    return viewer.run();
}

} // namespace gantry::viz
