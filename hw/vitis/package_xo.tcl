# Packages one Roamgate kernel as a Vitis RTL kernel (.xo), run by hw/vitis/Makefile:
#   vivado -mode batch -source package_xo.tcl -tclargs KERNEL XO_PATH WORK_DIR PART
# KERNEL is steer or gate. The top is hw/vitis/rtl/roamgate_KERNEL.sv around hw/rtl's
# KERNEL_kernel; its interfaces (ap_clk, ap_rst_n, s_axi_control, m_axi_rings and the AXI4-Stream
# ports) are inferred from the port names and described to v++ by KERNEL/kernel.xml, whose
# stream ports this script reads so that the two cannot drift (tests/rtl/vitis checks the XML
# against the wrapper's ports).
if {[llength $argv] != 4} {
  puts "usage: package_xo.tcl KERNEL XO_PATH WORK_DIR PART"
  exit 2
}
lassign $argv kernel xo_path work_dir part
set here [file dirname [file normalize [info script]]]
set root [file normalize [file join $here .. ..]]
set top roamgate_$kernel
set kernel_xml [file join $here $kernel kernel.xml]

# The stream interfaces, from the kernel XML (portType="stream").
set fh [open $kernel_xml r]
set xml [read $fh]
close $fh
set streams [regexp -all -inline {<port name="([a-z_]+)" mode="[a-z_]+" dataWidth="[0-9]+" portType="stream"} $xml]
set stream_names {}
foreach {whole name} $streams { lappend stream_names $name }
if {[llength $stream_names] == 0} {
  puts "package_xo: no stream ports in $kernel_xml"
  exit 1
}

create_project -force pack_$kernel [file join $work_dir project] -part $part
add_files [glob [file join $root hw rtl *.sv]]
add_files [file join $here rtl $top.sv]
set_property include_dirs [file join $root hw rtl] [current_fileset]
set_property top $top [current_fileset]
update_compile_order -fileset sources_1

set ip_dir [file join $work_dir ip]
ipx::package_project -root_dir $ip_dir -vendor roamgate.dev -library kernel -taxonomy /KernelIP \
  -import_files -set_current false
ipx::unload_core [file join $ip_dir component.xml]
ipx::edit_ip_in_project -upgrade true -name edit_$kernel -directory $ip_dir [file join $ip_dir component.xml]
set core [ipx::current_core]
set_property core_revision 1 $core
foreach up [ipx::get_user_parameters] { ipx::remove_user_parameter [get_property NAME $up] $core }
set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core

# Clock and reset; every interface runs on ap_clk.
ipx::infer_bus_interface ap_clk xilinx.com:signal:clock_rtl:1.0 $core
ipx::infer_bus_interface ap_rst_n xilinx.com:signal:reset_rtl:1.0 $core
foreach busif [concat s_axi_control m_axi_rings $stream_names] {
  ipx::associate_bus_interfaces -busif $busif -clock ap_clk $core
}

# The control slave's register window is 64 KiB (hw/regs); the rings pointer register lets
# v++ tie m_axi_rings to the memory bank named by sp= in the link configuration.
set mm [ipx::get_memory_maps s_axi_control -of_objects $core]
if {$mm eq ""} { set mm [ipx::add_memory_map s_axi_control $core] }
set_property slave_memory_map_ref s_axi_control [ipx::get_bus_interfaces s_axi_control -of_objects $core]
set blk [ipx::add_address_block reg0 $mm]
set_property range 0x10000 $blk
set reg [ipx::add_register rings $blk]
set_property address_offset 0x510 $reg
set_property size 64 $reg
set param [ipx::add_register_parameter ASSOCIATED_BUSIF $reg]
set_property value m_axi_rings $param

ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity -kernel $core
ipx::save_core $core
close_project -delete

package_xo -force -xo_path $xo_path -kernel_name $top -ip_directory $ip_dir -kernel_xml $kernel_xml
puts "package_xo: wrote $xo_path"
